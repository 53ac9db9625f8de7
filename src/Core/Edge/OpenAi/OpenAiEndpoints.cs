using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// The OpenAI-compatible HTTP surface. Served under <c>/openai/v1</c> (SDK base URL
/// <c>http://host:8080/openai/v1</c>) because <c>GET /v1/models</c> is the transcoded
/// ModelService.ListModels; <c>POST /v1/chat/completions</c> is also accepted (no conflict).
/// Plain request delegates with source-generated JSON: no reflection, AOT-safe.
/// </summary>
internal sealed partial class OpenAiEndpoints(
    OpenAiChatService chat,
    ModelCatalog catalog,
    ProviderRegistry providers,
    IEdgeAuthenticator authenticator,
    IEdgeRequestLimiter limiter,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<OpenAiEndpoints> logger,
    Observability.MonkeyCoderMetrics? metrics = null,
    Observability.IErrorReporter? reporter = null,
    Observability.TelemetryInterceptor? telemetryEnd = null)
{
    /// <summary>Names these endpoints have in metrics, logs and Sentry, beside the RPCs' "Service/Method".</summary>
    public const string ChatCompletionsRpc = "OpenAi/ChatCompletions";
    public const string ListModelsRpc = "OpenAi/ListModels";
    public const string GetModelRpc = "OpenAi/GetModel";

    public const string Prefix = "/openai/v1";

    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>What models report as "created": this process's start (the catalog has no dates).</summary>
    private readonly long _created = time.GetUtcNow().ToUnixTimeSeconds();

    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var chatDelegate = new RequestDelegate(c => Resolve(c).ChatAsync(c));
        endpoints.MapPost(Prefix + "/chat/completions", chatDelegate).WithDisplayName("OpenAI chat completions");
        endpoints.MapPost("/v1/chat/completions", chatDelegate).WithDisplayName("OpenAI chat completions (/v1 alias)");
        endpoints.MapGet(Prefix + "/models", new RequestDelegate(c => Resolve(c).ListModelsAsync(c))).WithDisplayName("OpenAI models");
        endpoints.MapGet(Prefix + "/models/{*id}", new RequestDelegate(c => Resolve(c).GetModelAsync(c))).WithDisplayName("OpenAI model");
        return endpoints;
    }

    private static OpenAiEndpoints Resolve(HttpContext context) => context.RequestServices.GetRequiredService<OpenAiEndpoints>();

    public async Task ChatAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        await GuardAsync(context, ChatCompletionsRpc, async () =>
        {
            var caller = await authenticator.AuthenticateAsync(context, EdgeOperations.ChatCompletions, cancellationToken);
            if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                await WriteErrorAsync(context, OpenAiErrors.UnsupportedMediaType());
                return;
            }

            ChatCompletionRequest? request;
            try
            {
                request = await JsonSerializer.DeserializeAsync(context.Request.Body, OpenAiEdgeJsonContext.Default.ChatCompletionRequest, cancellationToken);
            }
            catch (JsonException ex)
            {
                await WriteErrorAsync(context, OpenAiErrors.BadJson(ex.Message));
                return;
            }

            if (request is null)
            {
                await WriteErrorAsync(context, OpenAiErrors.BadJson("the body is null."));
                return;
            }

            if (Observability.RequestTelemetry.Current is { } telemetry)
            {
                telemetry.SensitiveValues = SensitiveValues(request);
            }

            var call = ChatRequestMapper.Map(request);
            var estimate = call.Task.MaxTokens + ((call.Task.Prompt.Length + call.Task.History.Sum(h => h.Content.Length) + call.Task.CustomInstructions.Length) / 4);
            var admission = await limiter.AcquireAsync(caller, EdgeOperations.ChatCompletions, estimate, cancellationToken, call.Charge);
            try
            {
                if (call.Stream)
                {
                    await StreamAsync(context, call, caller, cancellationToken);
                }
                else
                {
                    var completion = await chat.CompleteAsync(call, caller, cancellationToken);
                    context.Response.Headers["x-request-id"] = completion.Id;
                    await WriteJsonAsync(context, StatusCodes.Status200OK, completion, OpenAiEdgeJsonContext.Default.ChatCompletion);
                }
            }
            finally
            {
                // Settled with what usage recorded: a failed or cancelled call's attempts were really spent.
                if (admission is not null)
                {
                    await admission.CompleteAsync(call.Charge.Tokens, call.Charge.CostUsd);
                }
            }
        });
    }

    public async Task ListModelsAsync(HttpContext context)
    {
        await GuardAsync(context, ListModelsRpc, async () =>
        {
            await authenticator.AuthenticateAsync(context, EdgeOperations.ListModels, context.RequestAborted);
            var models = new List<ModelDto> { new() { Id = ChatRequestMapper.AutoModel, Created = _created, OwnedBy = "monkey-coder" } };
            models.AddRange(catalog.Models.Where(m => providers.IsEnabled(m.Provider) && !m.IsDeprecated).Select(ToDto));
            await WriteJsonAsync(context, StatusCodes.Status200OK, new ModelList { Data = models }, OpenAiEdgeJsonContext.Default.ModelList);
        });
    }

    public async Task GetModelAsync(HttpContext context)
    {
        await GuardAsync(context, GetModelRpc, async () =>
        {
            await authenticator.AuthenticateAsync(context, EdgeOperations.ListModels, context.RequestAborted);
            var id = context.Request.RouteValues["id"] as string ?? "";
            var dto = string.Equals(id, ChatRequestMapper.AutoModel, StringComparison.OrdinalIgnoreCase)
                ? new ModelDto { Id = ChatRequestMapper.AutoModel, Created = _created, OwnedBy = "monkey-coder" }
                : catalog.Find(id) is { } model && providers.IsEnabled(model.Provider)
                    ? ToDto(model)
                    : throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND", $"The model '{id}' does not exist.", new Dictionary<string, string> { ["model"] = id });
            await WriteJsonAsync(context, StatusCodes.Status200OK, dto, OpenAiEdgeJsonContext.Default.ModelDto);
        });
    }

    private ModelDto ToDto(CatalogModel model) => new() { Id = model.Id, Created = _created, OwnedBy = model.Provider };

    /// <summary>
    /// Server-sent events. The first chunk is awaited before the 200 is written, so a failure before
    /// any content (after failover gave up) still gets its HTTP status; a failure after content has
    /// been sent ends the stream with an error event and no [DONE], never with a completion.
    /// </summary>
    private async Task StreamAsync(HttpContext context, ChatCall call, CallerIdentity caller, CancellationToken cancellationToken)
    {
        await using var chunks = chat.StreamAsync(call, caller, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var hasFirst = await chunks.MoveNextAsync();

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        if (hasFirst)
        {
            response.Headers["x-request-id"] = chunks.Current.Id;
        }

        await response.StartAsync(cancellationToken);
        metrics?.StreamStarted();
        try
        {
            var more = hasFirst;
            while (more)
            {
                await WriteEventAsync(response, chunks.Current, OpenAiEdgeJsonContext.Default.ChatCompletionChunk, cancellationToken);
                more = await chunks.MoveNextAsync();
            }

            await response.Body.WriteAsync(Done, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RpcException or ProviderException && !cancellationToken.IsCancellationRequested)
        {
            var error = OpenAiErrors.FromRpc(ex as RpcException ?? ProviderErrors.ToRpcException((ProviderException)ex));
            Log.StreamFailed(logger, error.Body.Error.Code ?? "unknown");
            context.Items[StreamErrorKey] = error.HttpStatus;
            await WriteEventAsync(response, error.Body, OpenAiEdgeJsonContext.Default.ErrorEnvelope, CancellationToken.None);
        }
        finally
        {
            metrics?.StreamEnded();
        }
    }

    /// <summary>Set when a stream that already answered 200 ends with an error event: the status it stands for.</summary>
    private const string StreamErrorKey = "monkeycoder.stream-error-status";

    /// <summary>The gRPC status the HTTP outcome stands for, as <c>monkeycoder.rpc.requests</c> labels it.</summary>
    private static StatusCode StatusOf(HttpContext context)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return StatusCode.Cancelled;
        }

        var status = context.Items.TryGetValue(StreamErrorKey, out var streamError) && streamError is int failed ? failed : context.Response.StatusCode;
        return status switch
        {
            < 400 => StatusCode.OK,
            400 or 413 or 415 or 422 => StatusCode.InvalidArgument,
            401 => StatusCode.Unauthenticated,
            403 => StatusCode.PermissionDenied,
            404 => StatusCode.NotFound,
            408 or 504 => StatusCode.DeadlineExceeded,
            409 => StatusCode.Aborted,
            429 => StatusCode.ResourceExhausted,
            501 => StatusCode.Unimplemented,
            502 or 503 => StatusCode.Unavailable,
            _ => StatusCode.Internal,
        };
    }

    /// <summary>The messages' text and the instructions: what a scrubber must keep out of Sentry and logs.</summary>
    private static List<string> SensitiveValues(ChatCompletionRequest request)
    {
        var values = new List<string>();
        foreach (var message in request.Messages ?? [])
        {
            if (message.Content is not { } content)
            {
                continue;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                values.Add(content.GetString() ?? "");
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        values.Add(text.GetString() ?? "");
                    }
                }
            }
        }

        return values;
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(DataPrefix, cancellationToken);
        await JsonSerializer.SerializeAsync(response.Body, value, type, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Every failure leaves in OpenAI's error shape; RpcExceptions carry Core's classification. The
    /// call is observed as the gRPC interceptors observe an RPC: a request telemetry scope (request
    /// id, principal, provider, model), <c>monkeycoder.rpc.*</c> with the status the HTTP code
    /// stands for, the overhead histogram and header (non-streaming), active streams, a Sentry
    /// trace, and Sentry events for unexpected failures only, scrubbed of the messages.
    /// </summary>
    private async Task GuardAsync(HttpContext context, string rpc, Func<Task> handler)
    {
        var started = time.GetTimestamp();
        var telemetry = Observability.TelemetryInterceptor.Begin(context.Request.Headers[Observability.TelemetryInterceptor.RequestIdHeader].ToString(), rpc,
            context.Request.Headers[Observability.TelemetryInterceptor.TraceParentHeader].ToString(), context.Request.Headers[Observability.TelemetryInterceptor.TraceStateHeader].ToString());
        using var scope = logger.BeginScope(telemetry);
        var trace = telemetryEnd?.StartTrace(rpc);
        context.Response.OnStarting(() =>
        {
            if (!context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) ?? true)
            {
                context.Response.Headers[Observability.TelemetryInterceptor.OverheadHeader] =
                    Observability.TelemetryInterceptor.Milliseconds(Observability.TelemetryInterceptor.Overhead(telemetry, time.GetElapsedTime(started)));
            }

            // A completion names its own id there (chatcmpl-…, as OpenAI does); other answers carry the request id.
            context.Response.Headers.TryAdd(Observability.TelemetryInterceptor.RequestIdHeader, telemetry.RequestId);
            return Task.CompletedTask;
        });
        try
        {
            await GuardedAsync(context, handler);
        }
        finally
        {
            telemetryEnd?.End(telemetry, StatusOf(context), time.GetElapsedTime(started), trace);
        }
    }

    private async Task GuardedAsync(HttpContext context, Func<Task> handler)
    {
        try
        {
            await handler();
        }
        catch (Exception ex) when (context.Response.HasStarted)
        {
            if (ex is not OperationCanceledException)
            {
                Log.AfterStart(logger, ex);
            }
        }
        catch (RpcException ex)
        {
            await WriteErrorAsync(context, OpenAiErrors.FromRpc(ex));
        }
        catch (ProviderException ex)
        {
            await WriteErrorAsync(context, OpenAiErrors.FromRpc(ProviderErrors.ToRpcException(ex)));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteErrorAsync(context, OpenAiErrors.BodyTooLarge(options.Value.MaxRequestBodyBytes));
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, OpenAiErrors.BadJson(ex.Message) with { HttpStatus = ex.StatusCode });
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception ex) when (Storage.StorageFailures.IsUnavailable(ex))
        {
            await WriteErrorAsync(context, OpenAiErrors.FromRpc(Storage.StorageFailures.ToRpcException()));
        }
        catch (Exception ex)
        {
            var eventId = Guid.NewGuid().ToString("N")[..12];
            Log.Unhandled(logger, Observability.SentryScrubber.ForLog(ex, Observability.RequestTelemetry.Current?.SensitiveValues), context.Request.Path.Value ?? "", eventId);
            reporter?.ReportInternal(ex, Observability.RequestTelemetry.Current?.Rpc ?? context.Request.Path.Value ?? "", eventId);
            await WriteErrorAsync(context, OpenAiErrors.Internal(eventId));
        }
    }

    public static async Task WriteErrorAsync(HttpContext context, OpenAiError error)
    {
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = OpenAiErrors.RetryAfterHeader(retry);
        }

        await WriteJsonAsync(context, error.HttpStatus, error.Body, OpenAiEdgeJsonContext.Default.ErrorEnvelope);
    }

    private static async Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.EdgeUnhandledException, Level = LogLevel.Error,
            Message = "Unhandled exception in {Path} (event id {ErrorEventId})")]
        public static partial void Unhandled(ILogger logger, Exception exception, string path, string errorEventId);

        [LoggerMessage(EventId = Observability.EventIds.EdgeStreamFailed, Level = LogLevel.Warning,
            Message = "Chat completion stream failed after content was sent ({Code}); ended with an error event")]
        public static partial void StreamFailed(ILogger logger, string code);

        [LoggerMessage(EventId = Observability.EventIds.EdgeFailedAfterStart, Level = LogLevel.Warning,
            Message = "Request failed after its response had started")]
        public static partial void AfterStart(ILogger logger, Exception exception);
    }
}
