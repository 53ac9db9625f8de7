using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>
/// The Anthropic Messages API surface, under <c>/anthropic/v1</c> (SDK base URL
/// <c>http://host:8080/anthropic</c>, Claude Code's <c>ANTHROPIC_BASE_URL</c>): messages (unary and
/// server-sent events), count_tokens, and the model list. Every endpoint runs inside the call pipeline
/// through <see cref="AnthropicCallFilter"/>, which authenticates (<c>x-api-key</c> or a bearer
/// token), admits, maps the body (<see cref="CallContext.Input"/>) and renders any failure in
/// Anthropic's error shape; the handlers only answer. <c>anthropic-version</c> and
/// <c>anthropic-beta</c> are accepted and not needed.
/// </summary>
internal sealed partial class AnthropicEndpoints(
    AnthropicMessagesService messages,
    ModelCatalog catalog,
    ProviderRegistry providers,
    TimeProvider time,
    ILogger<AnthropicEndpoints> logger,
    Observability.MonkeyCoderMetrics? metrics = null)
{
    /// <summary>Names these endpoints have in metrics, logs and Sentry, beside the RPCs' "Service/Method".</summary>
    public const string MessagesRpc = "Anthropic/Messages";
    public const string CountTokensRpc = "Anthropic/CountTokens";
    public const string ListModelsRpc = "Anthropic/ListModels";
    public const string GetModelRpc = "Anthropic/GetModel";

    public const string Prefix = "/anthropic/v1";

    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataPrefix = "\ndata: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    /// <summary>What models report as created_at: this process's start (the catalog has no dates).</summary>
    private readonly string _created = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix);
        group.MapPost("/messages", new RequestDelegate(c => Resolve(c).MessagesAsync(c)))
            .WithMetadata(new AnthropicOperation(CallOperations.AnthropicMessages, MessagesRpc, Admitted: true)).WithDisplayName("Anthropic messages");
        group.MapPost("/messages/count_tokens", new RequestDelegate(c => Resolve(c).CountTokensAsync(c)))
            .WithMetadata(new AnthropicOperation(CallOperations.AnthropicCountTokens, CountTokensRpc, Admitted: false)).WithDisplayName("Anthropic count tokens");
        group.MapGet("/models", new RequestDelegate(c => Resolve(c).ListModelsAsync(c)))
            .WithMetadata(new AnthropicOperation(CallOperations.AnthropicListModels, ListModelsRpc, Admitted: false)).WithDisplayName("Anthropic models");
        group.MapGet("/models/{*id}", new RequestDelegate(c => Resolve(c).GetModelAsync(c)))
            .WithMetadata(new AnthropicOperation(CallOperations.AnthropicListModels, GetModelRpc, Admitted: false)).WithDisplayName("Anthropic model");
        // The adapter: every endpoint of the group runs inside the call pipeline.
        AnthropicCallFilter.Apply(group);
        return endpoints;
    }

    private static AnthropicEndpoints Resolve(HttpContext context) => context.RequestServices.GetRequiredService<AnthropicEndpoints>();

    public async Task MessagesAsync(HttpContext context)
    {
        var current = CallContext.Current!;
        var call = (MessagesCall)current.Input!;
        if (call.Stream)
        {
            await StreamAsync(context, current, call, current.Caller, context.RequestAborted);
        }
        else
        {
            var message = await messages.CompleteAsync(call, current.Caller, context.RequestAborted);
            await WriteJsonAsync(context, StatusCodes.Status200OK, message, AnthropicEdgeJsonContext.Default.MessageResponse);
        }
    }

    public async Task CountTokensAsync(HttpContext context)
    {
        var call = (MessagesCall)CallContext.Current!.Input!;
        // The model must exist (and be allowed) as for a message, though any model's count is the same estimate.
        if (!call.IsAuto)
        {
            ModelPinResolver.Resolve(catalog, call.Model, [], CallContext.Current.Caller.AllowedModels, "fallbacks", MessagesCall.ListHint);
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, new CountTokensResponse { InputTokens = messages.CountTokens(call) },
            AnthropicEdgeJsonContext.Default.CountTokensResponse);
    }

    public async Task ListModelsAsync(HttpContext context)
    {
        var models = new List<AnthropicModel> { new() { Id = MessagesCall.AutoModel, DisplayName = "Monkey Coder router", CreatedAt = _created } };
        models.AddRange(catalog.Models.Where(m => providers.IsEnabled(m.Provider) && !m.IsDeprecated).Select(ToDto));
        await WriteJsonAsync(context, StatusCodes.Status200OK, new AnthropicModelList { Data = models, FirstId = models[0].Id, LastId = models[^1].Id },
            AnthropicEdgeJsonContext.Default.AnthropicModelList);
    }

    public async Task GetModelAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? "";
        var dto = MessagesCall.IsAutoName(id)
            ? new AnthropicModel { Id = MessagesCall.AutoModel, DisplayName = "Monkey Coder router", CreatedAt = _created }
            : catalog.Find(id) is { } model && providers.IsEnabled(model.Provider)
                ? ToDto(model)
                : throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND", $"The model '{id}' does not exist.", new Dictionary<string, string> { ["model"] = id });
        await WriteJsonAsync(context, StatusCodes.Status200OK, dto, AnthropicEdgeJsonContext.Default.AnthropicModel);
    }

    private AnthropicModel ToDto(CatalogModel model) =>
        new() { Id = model.Id, DisplayName = model.DisplayName is { Length: > 0 } name ? name : model.Id, CreatedAt = _created };

    /// <summary>
    /// Server-sent events in Anthropic's order: message_start, then per content block
    /// content_block_start, its deltas (text_delta or input_json_delta) and content_block_stop, then
    /// message_delta (stop reason, usage) and message_stop. The first execution event is awaited before
    /// the 200 is written, so a failure before any content (after failover gave up) still gets its HTTP
    /// status; a failure after that ends the stream with an <c>error</c> event and no message_stop.
    /// </summary>
    private async Task StreamAsync(HttpContext context, CallContext current, MessagesCall call, CallerIdentity caller, CancellationToken cancellationToken)
    {
        await using var events = messages.StreamAsync(call, caller, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var hasFirst = await events.MoveNextAsync();

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
        metrics?.StreamStarted();
        try
        {
            var blocks = new BlockWriter(response, cancellationToken);
            var started = false;
            var more = hasFirst;
            while (more)
            {
                var (id, item) = events.Current;
                if (!started)
                {
                    started = true;
                    await WriteEventAsync(response, "message_start", new MessageStartEvent
                    {
                        Message = new MessageResponse { Id = id, Model = (item.Model ?? item.Completed?.Model)!.Id, Content = [], Usage = new UsageBody() },
                    }, AnthropicEdgeJsonContext.Default.MessageStartEvent, cancellationToken);
                    await WriteEventAsync(response, "ping", new PingEvent(), AnthropicEdgeJsonContext.Default.PingEvent, cancellationToken);
                }

                if (item.Completed is { } outcome)
                {
                    await blocks.FinishAsync(outcome);
                    await WriteEventAsync(response, "message_delta", new MessageDeltaEvent
                    {
                        Delta = new MessageDeltaBody { StopReason = AnthropicMessagesService.StopReasonOf(outcome.FinishReason, blocks.HasToolUse) },
                        Usage = AnthropicMessagesService.UsageOf(outcome.Usage),
                    }, AnthropicEdgeJsonContext.Default.MessageDeltaEvent, cancellationToken);
                    await WriteEventAsync(response, "message_stop", new MessageStopEvent(), AnthropicEdgeJsonContext.Default.MessageStopEvent, cancellationToken);
                }
                else if (item.ToolCall is { } toolCall)
                {
                    await blocks.ToolCallAsync(toolCall);
                }
                else if (!string.IsNullOrEmpty(item.Delta))
                {
                    await blocks.TextAsync(item.Delta);
                }

                more = await events.MoveNextAsync();
            }
        }
        catch (Exception ex) when (ex is RpcException or ProviderException && !cancellationToken.IsCancellationRequested)
        {
            var error = AnthropicErrors.FromRpc(ex as RpcException ?? ProviderErrors.ToRpcException((ProviderException)ex));
            Log.StreamFailed(logger, error.Body.Error.Type);
            current.FailedHttpStatus = error.HttpStatus;
            await WriteEventAsync(response, "error", error.Body, AnthropicEdgeJsonContext.Default.AnthropicErrorEnvelope, CancellationToken.None);
        }
        finally
        {
            metrics?.StreamEnded();
        }
    }

    /// <summary>
    /// The content blocks of a streamed message: a text block is closed before a tool_use block opens
    /// (and the reverse); each tool call (by its delta index) is one tool_use block whose arguments
    /// arrive as input_json_delta. Block indexes count from 0 in the order blocks open.
    /// </summary>
    private sealed class BlockWriter(HttpResponse response, CancellationToken cancellationToken)
    {
        private readonly Dictionary<int, int> _toolBlocks = [];
        private int _next;
        private int? _open;
        private bool _openIsText;

        public bool HasToolUse => _toolBlocks.Count > 0;

        public async Task TextAsync(string text)
        {
            if (_open is null || !_openIsText)
            {
                await OpenAsync(new ContentBlock { Type = "text", Text = "" }, isText: true);
            }

            await DeltaAsync(_open!.Value, new BlockDelta { Type = "text_delta", Text = text });
        }

        public async Task ToolCallAsync(ToolCallDelta delta)
        {
            if (!_toolBlocks.TryGetValue(delta.Index, out var index))
            {
                await OpenAsync(new ContentBlock { Type = "tool_use", Id = delta.Id ?? "toolu_" + delta.Index.ToString(CultureInfo.InvariantCulture), Name = delta.Name ?? "", Input = EmptyObject() }, isText: false);
                index = _open!.Value;
                _toolBlocks[delta.Index] = index;
            }

            if (!string.IsNullOrEmpty(delta.ArgumentsDelta))
            {
                await DeltaAsync(index, new BlockDelta { Type = "input_json_delta", PartialJson = delta.ArgumentsDelta });
            }
        }

        /// <summary>Closes the open block; a completion whose tool calls were not streamed as deltas (e.g. a cache hit) gets them as whole blocks.</summary>
        public async Task FinishAsync(ExecutionOutcome outcome)
        {
            if (_toolBlocks.Count == 0 && outcome.ToolCalls.Count > 0)
            {
                for (var i = 0; i < outcome.ToolCalls.Count; i++)
                {
                    var toolCall = outcome.ToolCalls[i];
                    await ToolCallAsync(new ToolCallDelta(i, toolCall.Id, toolCall.Name, toolCall.ArgumentsJson));
                }
            }

            await CloseAsync();
        }

        private async Task OpenAsync(ContentBlock block, bool isText)
        {
            await CloseAsync();
            _open = _next++;
            _openIsText = isText;
            await WriteEventAsync(response, "content_block_start", new ContentBlockStartEvent { Index = _open.Value, ContentBlock = block },
                AnthropicEdgeJsonContext.Default.ContentBlockStartEvent, cancellationToken);
        }

        private async Task CloseAsync()
        {
            if (_open is { } index)
            {
                _open = null;
                await WriteEventAsync(response, "content_block_stop", new ContentBlockStopEvent { Index = index },
                    AnthropicEdgeJsonContext.Default.ContentBlockStopEvent, cancellationToken);
            }
        }

        private Task DeltaAsync(int index, BlockDelta delta) =>
            WriteEventAsync(response, "content_block_delta", new ContentBlockDeltaEvent { Index = index, Delta = delta },
                AnthropicEdgeJsonContext.Default.ContentBlockDeltaEvent, cancellationToken);

        private static JsonElement EmptyObject()
        {
            using var document = JsonDocument.Parse("{}");
            return document.RootElement.Clone();
        }
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, string name, T value, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(EventPrefix, cancellationToken);
        await response.Body.WriteAsync(System.Text.Encoding.UTF8.GetBytes(name), cancellationToken);
        await response.Body.WriteAsync(DataPrefix, cancellationToken);
        await JsonSerializer.SerializeAsync(response.Body, value, type, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public static async Task WriteErrorAsync(HttpContext context, AnthropicError error)
    {
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = Edge.OpenAi.OpenAiErrors.RetryAfterHeader(retry);
        }

        await WriteJsonAsync(context, error.HttpStatus, error.Body, AnthropicEdgeJsonContext.Default.AnthropicErrorEnvelope);
    }

    internal static async Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.EdgeStreamFailed, Level = LogLevel.Warning,
            Message = "Anthropic message stream failed after content was sent ({Type}); ended with an error event")]
        public static partial void StreamFailed(ILogger logger, string type);
    }
}
