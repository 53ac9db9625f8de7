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
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// The OpenAI-compatible HTTP surface. Served under <c>/openai/v1</c> (SDK base URL
/// <c>http://host:8080/openai/v1</c>) because <c>GET /v1/models</c> is the transcoded
/// ModelService.ListModels; <c>POST /v1/chat/completions</c> is also accepted (no conflict).
/// Plain request delegates with source-generated JSON: no reflection, AOT-safe. Every endpoint runs
/// inside the call pipeline through <see cref="OpenAiCallFilter"/> on the route group, which
/// authenticates, admits, maps the chat request (<see cref="CallContext.Input"/>) and renders any
/// failure in OpenAI's error shape; the handlers only answer.
/// </summary>
internal sealed partial class OpenAiEndpoints(
    OpenAiChatService chat,
    ModelCatalog catalog,
    ProviderRegistry providers,
    TimeProvider time,
    ILogger<OpenAiEndpoints> logger,
    Observability.MonkeyCoderMetrics? metrics = null)
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
        var group = endpoints.MapGroup("");
        var chatDelegate = new RequestDelegate(c => Resolve(c).ChatAsync(c));
        var chatCall = new OpenAiOperation(CallOperations.ChatCompletions, ChatCompletionsRpc, Admitted: true);
        group.MapPost(Prefix + "/chat/completions", chatDelegate).WithMetadata(chatCall).WithDisplayName("OpenAI chat completions");
        group.MapPost("/v1/chat/completions", chatDelegate).WithMetadata(chatCall).WithDisplayName("OpenAI chat completions (/v1 alias)");
        group.MapGet(Prefix + "/models", new RequestDelegate(c => Resolve(c).ListModelsAsync(c)))
            .WithMetadata(new OpenAiOperation(CallOperations.ListModels, ListModelsRpc, Admitted: false)).WithDisplayName("OpenAI models");
        group.MapGet(Prefix + "/models/{*id}", new RequestDelegate(c => Resolve(c).GetModelAsync(c)))
            .WithMetadata(new OpenAiOperation(CallOperations.ListModels, GetModelRpc, Admitted: false)).WithDisplayName("OpenAI model");
        group.MapPost(Prefix + "/responses", new RequestDelegate(ResponsesAsync))
            .WithMetadata(new OpenAiOperation(CallOperations.Responses, ResponsesRpc, Admitted: true)).WithDisplayName("OpenAI responses");
        group.MapPost(Prefix + "/embeddings", new RequestDelegate(EmbeddingsAsync))
            .WithMetadata(new OpenAiOperation(CallOperations.Embeddings, EmbeddingsRpc, Admitted: true)).WithDisplayName("OpenAI embeddings");
        // The adapter: every endpoint of the group runs inside the call pipeline.
        OpenAiCallFilter.Apply(group);
        return endpoints;
    }

    private static OpenAiEndpoints Resolve(HttpContext context) => context.RequestServices.GetRequiredService<OpenAiEndpoints>();

    public async Task ChatAsync(HttpContext context)
    {
        // Authenticated, admitted and mapped by the pipeline (OpenAiCallFilter): the call is the context's input.
        var current = CallContext.Current!;
        var call = (ChatCall)current.Input!;
        var caller = current.Caller;
        var cancellationToken = context.RequestAborted;
        if (call.Stream)
        {
            await StreamAsync(context, current, call, caller, cancellationToken);
        }
        else
        {
            var completion = await chat.CompleteAsync(call, caller, cancellationToken);
            context.Response.Headers["x-request-id"] = completion.Id;
            await WriteJsonAsync(context, StatusCodes.Status200OK, completion, OpenAiEdgeJsonContext.Default.ChatCompletion);
        }
    }

    public async Task ListModelsAsync(HttpContext context)
    {
        var models = new List<ModelDto> { new() { Id = ChatRequestMapper.AutoModel, Created = _created, OwnedBy = "monkey-coder" } };
        models.AddRange(catalog.Models.Where(m => providers.IsEnabled(m.Provider) && !m.IsDeprecated).Select(ToDto));
        await WriteJsonAsync(context, StatusCodes.Status200OK, new ModelList { Data = models }, OpenAiEdgeJsonContext.Default.ModelList);
    }

    public async Task GetModelAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? "";
        var dto = string.Equals(id, ChatRequestMapper.AutoModel, StringComparison.OrdinalIgnoreCase)
            ? new ModelDto { Id = ChatRequestMapper.AutoModel, Created = _created, OwnedBy = "monkey-coder" }
            : catalog.Find(id) is { } model && providers.IsEnabled(model.Provider)
                ? ToDto(model)
                : throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND", $"The model '{id}' does not exist.", new Dictionary<string, string> { ["model"] = id });
        await WriteJsonAsync(context, StatusCodes.Status200OK, dto, OpenAiEdgeJsonContext.Default.ModelDto);
    }

    private ModelDto ToDto(CatalogModel model) => new() { Id = model.Id, Created = _created, OwnedBy = model.Provider };

    /// <summary>
    /// Server-sent events. The first chunk is awaited before the 200 is written, so a failure before
    /// any content (after failover gave up) still gets its HTTP status; a failure after content has
    /// been sent ends the stream with an error event and no [DONE], never with a completion.
    /// </summary>
    private async Task StreamAsync(HttpContext context, CallContext current, ChatCall call, CallerIdentity caller, CancellationToken cancellationToken)
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
            current.FailedHttpStatus = error.HttpStatus;
            await WriteEventAsync(response, error.Body, OpenAiEdgeJsonContext.Default.ErrorEnvelope, CancellationToken.None);
        }
        finally
        {
            metrics?.StreamEnded();
        }
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(DataPrefix, cancellationToken);
        await JsonSerializer.SerializeAsync(response.Body, value, type, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public static async Task WriteErrorAsync(HttpContext context, OpenAiError error)
    {
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = OpenAiErrors.RetryAfterHeader(retry);
        }

        await WriteJsonAsync(context, error.HttpStatus, error.Body, OpenAiEdgeJsonContext.Default.ErrorEnvelope);
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
            Message = "Chat completion stream failed after content was sent ({Code}); ended with an error event")]
        public static partial void StreamFailed(ILogger logger, string code);
    }
}
