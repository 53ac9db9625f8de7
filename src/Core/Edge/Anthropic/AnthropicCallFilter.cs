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

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>
/// The Anthropic edge's adapter: a filter on the Anthropic route group that runs every endpoint inside
/// the <see cref="CallPipeline"/> (telemetry, error mapping, authentication, admission, settlement, as
/// on gRPC and the OpenAI edge), maps a message's body for admission, and renders the final
/// google.rpc.Status in Anthropic's error shape (<see cref="AnthropicErrors.Render"/>).
/// </summary>
internal sealed partial class AnthropicCallFilter(CallPipeline pipeline, IOptions<EdgeOptions> options, ILogger<AnthropicCallFilter> logger)
{
    /// <summary>Anthropic's response header naming the request (its SDK reads it as <c>_request_id</c>).</summary>
    public const string RequestIdHeader = "request-id";

    private readonly ILogger _logger = logger;
    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    /// <summary>Wraps every endpoint of <paramref name="group"/> (each carrying its <see cref="AnthropicOperation"/>) in the pipeline.</summary>
    public static void Apply(RouteGroupBuilder group) => ((IEndpointConventionBuilder)group).Finally(endpoint =>
    {
        if (endpoint.RequestDelegate is not { } handler || endpoint.Metadata.OfType<AnthropicOperation>().LastOrDefault() is not { } operation)
        {
            return;
        }

        endpoint.RequestDelegate = context => context.RequestServices.GetRequiredService<AnthropicCallFilter>().InvokeAsync(context, operation, handler);
    });

    public async Task InvokeAsync(HttpContext context, AnthropicOperation operation, RequestDelegate handler)
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

                context.Response.Headers.TryAdd(TelemetryStep.RequestIdHeader, telemetry.RequestId);
                context.Response.Headers.TryAdd(RequestIdHeader, telemetry.RequestId);
            }

            return Task.CompletedTask;
        });
        await pipeline.RunAsync(call, _ => new ValueTask(handler(context)));
    }

    /// <summary>Reads and maps a message's (or count_tokens') body: the call's input, task and charge, and the texts the scrubbers keep out.</summary>
    private static async ValueTask BindMessagesAsync(CallContext call, HttpContext context, bool countOnly)
    {
        if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw Api.RpcErrors.Create(StatusCode.InvalidArgument, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.",
                new Dictionary<string, string> { [ErrorMappingStep.HttpStatusKey] = "415" });
        }

        MessagesRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, AnthropicEdgeJsonContext.Default.MessagesRequest, call.CancellationToken);
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

        var messages = AnthropicRequestMapper.Map(request, countOnly);
        call.Input = messages;
        if (!countOnly)
        {
            call.Task = messages.Task;
            call.MaxTokensNamed = true; // max_tokens is required on this API
            call.Charge = messages.Charge;
        }
    }

    private static RpcException InvalidJson(string detail) =>
        Api.RpcErrors.Create(StatusCode.InvalidArgument, "INVALID_JSON", "The request body is not valid JSON for a Messages request: " + detail);

    /// <summary>The system prompt and every text the messages carry: what a scrubber must keep out of Sentry and logs.</summary>
    private static List<string> SensitiveValues(MessagesRequest request)
    {
        var values = new List<string>();
        void Collect(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    values.Add(element.GetString() ?? "");
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Collect(item);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name is "text" or "content" or "input" or "data")
                        {
                            Collect(property.Value);
                        }
                    }

                    break;
            }
        }

        if (request.System is { } system)
        {
            Collect(system);
        }

        foreach (var message in request.Messages ?? [])
        {
            if (message?.Content is { } content)
            {
                Collect(content);
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
        502 or 503 or 529 => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };

    /// <summary>What the pipeline needs from an Anthropic-compatible HTTP call.</summary>
    private sealed class HttpEdge(AnthropicCallFilter filter, HttpContext context) : ICallEdge
    {
        public HttpContext? Http => context;

        // The handler writes to the response itself: an abandoned one could not be stopped from writing.
        public bool CanDrain => false;

        public string? Header(string name) => context.Request.Headers.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } text ? text : null;

        public ValueTask BindAsync(CallContext call) => call.Operation switch
        {
            CallOperations.AnthropicMessages => BindMessagesAsync(call, context, countOnly: false),
            CallOperations.AnthropicCountTokens => BindMessagesAsync(call, context, countOnly: true),
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

            await AnthropicEndpoints.WriteErrorAsync(context, AnthropicErrors.Render(status, filter._maxBodyBytes));
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
