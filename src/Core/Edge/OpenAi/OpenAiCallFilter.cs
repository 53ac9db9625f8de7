using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Calls;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// The OpenAI edge's adapter: a filter on the OpenAI route group that runs every endpoint inside the
/// <see cref="CallPipeline"/> (telemetry, error mapping, authentication, admission, settlement, as on
/// gRPC), maps a chat completion's body for admission, and renders the final google.rpc.Status in
/// OpenAI's error shape (<see cref="OpenAiErrors.Render"/>), HTTP status and Retry-After included.
/// </summary>
internal sealed partial class OpenAiCallFilter(CallPipeline pipeline, IOptions<EdgeOptions> options, ILogger<OpenAiCallFilter> logger)
{
    private readonly ILogger _logger = logger;
    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    /// <summary>Wraps every endpoint of <paramref name="group"/> (each carrying its <see cref="OpenAiOperation"/>) in the pipeline.</summary>
    public static void Apply(RouteGroupBuilder group) => ((IEndpointConventionBuilder)group).Finally(endpoint =>
    {
        if (endpoint.RequestDelegate is not { } handler || endpoint.Metadata.OfType<OpenAiOperation>().LastOrDefault() is not { } operation)
        {
            return;
        }

        endpoint.RequestDelegate = context => context.RequestServices.GetRequiredService<OpenAiCallFilter>().InvokeAsync(context, operation, handler);
    });

    public async Task InvokeAsync(HttpContext context, OpenAiOperation operation, RequestDelegate handler)
    {
        var call = new CallContext(operation.Operation, operation.Rpc, new HttpEdge(this, context), context.RequestAborted) { Admitted = operation.Admitted };
        context.Response.OnStarting(() =>
        {
            if (call.Telemetry is { } telemetry)
            {
                if (!context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) ?? true)
                {
                    context.Response.Headers[TelemetryStep.OverheadHeader] =
                        TelemetryStep.Milliseconds(TelemetryStep.Overhead(telemetry, Stopwatch.GetElapsedTime(call.Started)));
                }

                // A completion names its own id there (chatcmpl-…, as OpenAI does); other answers carry the request id.
                context.Response.Headers.TryAdd(TelemetryStep.RequestIdHeader, telemetry.RequestId);
            }

            return Task.CompletedTask;
        });
        await pipeline.RunAsync(call, _ => new ValueTask(handler(context)));
    }

    /// <summary>Reads and maps a chat completion's body: the call's input, task and charge, and the texts the scrubbers keep out.</summary>
    private static async ValueTask BindChatAsync(CallContext call, HttpContext context)
    {
        if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw Api.RpcErrors.Create(StatusCode.InvalidArgument, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.",
                new Dictionary<string, string> { [ErrorMappingStep.HttpStatusKey] = "415" });
        }

        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, OpenAiEdgeJsonContext.Default.ChatCompletionRequest, call.CancellationToken);
        }
        catch (JsonException ex)
        {
            throw InvalidJson(ex.Message);
        }

        if (request is null)
        {
            throw InvalidJson("the body is null.");
        }

        if (call.Telemetry is { } telemetry)
        {
            telemetry.SensitiveValues = SensitiveValues(request);
        }

        var chat = ChatRequestMapper.Map(request);
        call.Input = chat;
        call.Task = chat.Task;
        call.MaxTokensNamed = (request.MaxCompletionTokens ?? request.MaxTokens) is not null;
        call.Charge = chat.Charge;
    }

    private static RpcException InvalidJson(string detail) =>
        Api.RpcErrors.Create(StatusCode.InvalidArgument, "INVALID_JSON", "The request body is not valid JSON for a chat completion: " + detail);

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

    /// <summary>The gRPC status an HTTP answer stands for, as <c>monkeycoder.rpc.requests</c> labels it.</summary>
    private static StatusCode StatusOf(int status) => status switch
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

    /// <summary>What the pipeline needs from an OpenAI-compatible HTTP call.</summary>
    private sealed class HttpEdge(OpenAiCallFilter filter, HttpContext context) : ICallEdge
    {
        public HttpContext? Http => context;

        // The handler writes to the response itself: an abandoned one could not be stopped from writing.
        public bool CanDrain => false;

        public string? Header(string name) => context.Request.Headers.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } text ? text : null;

        public ValueTask BindAsync(CallContext call) =>
            call.Operation switch
            {
                CallOperations.ChatCompletions => BindChatAsync(call, context),
                CallOperations.Responses => BindResponsesAsync(call, context),
                CallOperations.Embeddings => BindEmbeddingsAsync(call, context),
                _ => ValueTask.CompletedTask,
            };

        public void AddTrailer(string name, string value)
        {
            // HTTP/1.1 JSON answers carry no trailers.
        }

        public void Answered(CallContext call, TimeSpan overhead)
        {
            // The overhead header is added when the response starts (InvokeAsync), before the body is written.
        }

        public async ValueTask<bool> RenderAsync(CallContext call, RpcException status)
        {
            if (context.Response.HasStarted)
            {
                if (status.StatusCode != StatusCode.Cancelled)
                {
                    Log.AfterStart(filter._logger, status);
                }

                return true;
            }

            if (context.RequestAborted.IsCancellationRequested)
            {
                return true; // the client went away; nobody is left to answer
            }

            await OpenAiEndpoints.WriteErrorAsync(context, OpenAiErrors.Render(status, filter._maxBodyBytes));
            return true;
        }

        public StatusCode Observed(CallContext call, StatusCode status) =>
            context.RequestAborted.IsCancellationRequested ? StatusCode.Cancelled : StatusOf(call.FailedHttpStatus ?? context.Response.StatusCode);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.EdgeFailedAfterStart, Level = LogLevel.Warning,
            Message = "Request failed after its response had started")]
        public static partial void AfterStart(ILogger logger, Exception exception);
    }
}
