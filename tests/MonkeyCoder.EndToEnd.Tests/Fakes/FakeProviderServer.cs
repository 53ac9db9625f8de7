using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>One request as the fake received it.</summary>
public sealed class FakeRequest
{
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _clientDisconnected;

    public required int Number { get; init; }

    public required string Method { get; init; }

    public required string Path { get; init; }

    public required string Query { get; init; }

    /// <summary>Request headers (names lower-case).</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public required string Body { get; init; }

    public required string Model { get; init; }

    public required bool IsStream { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    public FakeResponse? Response { get; internal set; }

    /// <summary>The client closed the connection (cancelled, timed out or stopped reading) before the fake finished.</summary>
    public bool ClientDisconnected => _clientDisconnected;

    /// <summary>Completes when the fake's handler for this request has ended (answered, aborted, or noticed the client leave).</summary>
    public Task Ended => _ended.Task;

    public JsonElement Json => JsonDocument.Parse(Body.Length == 0 ? "{}" : Body).RootElement.Clone();

    internal void MarkDisconnected() => _clientDisconnected = true;

    internal void MarkEnded() => _ended.TrySetResult();
}

/// <summary>
/// A local stand-in for an AI provider: Kestrel on 127.0.0.1 with a free port, inside the test
/// process, answering in the provider's documented wire format (headers, status codes, SSE
/// framing, error bodies). Scripted per request with <see cref="Enqueue"/>; when the queue is
/// empty it answers with <see cref="SetDefault"/> (a success unless set). Every request is
/// logged in <see cref="Requests"/>, with whether the client disconnected. Reusable by any
/// end-to-end test: start one, point the Service at <see cref="BaseUrl"/> with <see cref="ApiKey"/>.
/// </summary>
public abstract partial class FakeProviderServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<FakeResponse> _script = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private WebApplication? _app;
    private FakeResponse _default = FakeResponse.Success();
    private int _count;
    private int _modelListCount;

    /// <summary>The provider name this fake plays ("openai", "anthropic", "google", …); appears in default answers.</summary>
    public string ProviderName { get; }

    /// <summary>The key the fake accepts; requests with another key get the provider's authentication error.</summary>
    public string ApiKey { get; }

    /// <summary>Root URL of the server, e.g. http://127.0.0.1:41234.</summary>
    public Uri Root { get; private set; } = null!;

    /// <summary>The base URL as the provider's SDKs and our settings take it (OpenAI-compatible: with "/v1").</summary>
    public abstract Uri BaseUrl { get; }

    public IReadOnlyList<FakeRequest> Requests => _requests.ToList();

    public int RequestCount => Volatile.Read(ref _count);

    /// <summary>
    /// Model-list calls (the Service's health probes). Counted apart from <see cref="Requests"/>:
    /// they are not generation calls and arrive on the probe interval, whatever a test scripts.
    /// </summary>
    public int ModelListCount => Volatile.Read(ref _modelListCount);

    protected FakeProviderServer(string providerName, string apiKey)
    {
        ProviderName = providerName;
        ApiKey = apiKey;
    }

    /// <summary>Scripts the next requests, in order.</summary>
    public void Enqueue(params FakeResponse[] responses)
    {
        foreach (var response in responses)
        {
            _script.Enqueue(response);
        }
    }

    /// <summary>What every request gets once the script is used up (persistent failures).</summary>
    public void SetDefault(FakeResponse response) => _default = response;

    /// <summary>Clears the script, the default and the request log.</summary>
    public void Reset()
    {
        _script.Clear();
        _requests.Clear();
        _default = FakeResponse.Success();
        Interlocked.Exchange(ref _count, 0);
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> requests arrived.</summary>
    public async Task<bool> WaitForRequestsAsync(int count, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (RequestCount < count)
        {
            if (watch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Root = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>True when the path is one of the provider's generation endpoints.</summary>
    protected abstract bool IsEndpoint(HttpRequest request);

    /// <summary>True for the provider's model list (GET), e.g. <c>/v1/models</c>.</summary>
    protected abstract bool IsModelListEndpoint(HttpRequest request);

    /// <summary>The provider's model-list body, listing <paramref name="models"/>.</summary>
    protected abstract string ModelListBody(IReadOnlyList<string> models);

    /// <summary>Answers a conversation that ends with an assistant turn (a prefill) with the provider's 400.</summary>
    public bool RejectsPrefill { get; set; }

    /// <summary>
    /// Whether the request continues an earlier answer: (true, prefill text) when the conversation ends
    /// with an assistant turn; (false, quoted text) when the last user turn quotes the delivered text
    /// between the executor's markers; (false, null) otherwise. Reads OpenAI's and Anthropic's
    /// <c>messages</c> (string content).
    /// </summary>
    protected virtual (bool Prefill, string? Text) Continuation(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array
            || messages.GetArrayLength() == 0)
        {
            return (false, null);
        }

        var last = messages[messages.GetArrayLength() - 1];
        var role = last.TryGetProperty("role", out var r) ? r.GetString() : null;
        var text = last.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
        if (role == "assistant")
        {
            return (true, text);
        }

        const string start = "<<<DELIVERED>>>", end = "<<<END>>>";
        var from = text.IndexOf(start, StringComparison.Ordinal);
        var to = text.LastIndexOf(end, StringComparison.Ordinal);
        return from >= 0 && to > from ? (false, text[(from + start.Length)..to]) : (false, null);
    }

    /// <summary>Models the model list names. Defaults to one.</summary>
    public IReadOnlyList<string> ListedModels { get; set; } = ["fake-model-1"];

    protected abstract bool IsAuthorized(HttpRequest request);

    protected abstract bool IsStreamRequest(HttpRequest request, JsonElement body);

    protected abstract string ModelOf(HttpRequest request, JsonElement body);

    /// <summary>The provider's status, extra headers and error body for an error kind.</summary>
    protected abstract (int Status, string Body) ErrorFor(FakeError kind, FakeRequest request);

    /// <summary>Headers every response of the provider carries (request ids and the like).</summary>
    protected abstract void AddProviderHeaders(HttpResponse response);

    protected abstract string UnaryBody(FakeRequest request, FakeResponse response, string content);

    /// <summary>The complete stream as frames, each already framed ("data: …\n\n").</summary>
    protected abstract IReadOnlyList<SseFrame> StreamFrames(FakeRequest request, FakeResponse response, string content);

    /// <summary>An event whose data is not valid JSON.</summary>
    protected abstract string MalformedFrame { get; }

    /// <summary>The provider's in-stream error event.</summary>
    protected abstract string InStreamErrorFrame { get; }

    protected abstract string StreamContentType { get; }

    protected virtual string JsonContentType => "application/json";

    protected virtual string DefaultContent(string model) =>
        $"Hello from the fake {ProviderName} server, answering as {model}. Here is the code you asked for.";

    /// <summary>Splits text into deltas of about two words, as providers stream it.</summary>
    public static IReadOnlyList<string> Deltas(string content)
    {
        var words = WordRegex().Matches(content).Select(m => m.Value).ToList();
        var deltas = new List<string>();
        for (var i = 0; i < words.Count; i += 2)
        {
            deltas.Add(string.Concat(words.Skip(i).Take(2)));
        }

        return deltas;
    }

    protected static string Json(object value) => value switch
    {
        string s => JsonSerializer.Serialize(s, FakeJson.Default.String),
        _ => throw new ArgumentException("Only strings are encoded here.", nameof(value)),
    };

    protected static string Unix(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    protected static string Id(int length = 24) => Guid.NewGuid().ToString("N")[..length];

    private async Task HandleAsync(HttpContext context)
    {
        var http = context.Request;
        if (HttpMethods.IsGet(http.Method) && IsModelListEndpoint(http))
        {
            await WriteModelListAsync(context);
            return;
        }

        string body;
        using (var reader = new StreamReader(http.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        JsonElement json;
        try
        {
            json = JsonDocument.Parse(body.Length == 0 ? "{}" : body).RootElement.Clone();
        }
        catch (JsonException)
        {
            json = JsonDocument.Parse("{}").RootElement.Clone();
        }

        var request = new FakeRequest
        {
            Number = Interlocked.Increment(ref _count),
            Method = http.Method,
            Path = http.Path.Value ?? "",
            Query = http.QueryString.Value ?? "",
            Headers = http.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            Body = body,
            Model = ModelOf(http, json),
            IsStream = IsStreamRequest(http, json),
            ReceivedAt = DateTimeOffset.UtcNow,
        };
        _requests.Enqueue(request);
        var serverAborted = false;
        using var registration = context.RequestAborted.Register(() =>
        {
            if (!Volatile.Read(ref serverAborted))
            {
                request.MarkDisconnected();
            }
        });

        try
        {
            AddProviderHeaders(context.Response);
            if (!IsEndpoint(http) || http.Method != HttpMethods.Post)
            {
                await WriteErrorAsync(context, request, FakeError.BadRequest, status: 404);
                return;
            }

            if (!IsAuthorized(http))
            {
                await WriteErrorAsync(context, request, FakeError.Unauthorized);
                return;
            }

            var response = _script.TryDequeue(out var scripted) ? scripted : _default;
            request.Response = response;
            switch (response.Behavior)
            {
                case FakeBehavior.ResetBeforeHeaders:
                    Volatile.Write(ref serverAborted, true);
                    context.Abort();
                    return;
                case FakeBehavior.Hang:
                    await WaitForClientAsync(context);
                    return;
                case FakeBehavior.Error:
                    if (response.RetryAfterSeconds is { } seconds)
                    {
                        context.Response.Headers["retry-after"] = response.RetryAfterAsHttpDate
                            ? DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("r", CultureInfo.InvariantCulture)
                            : seconds.ToString(CultureInfo.InvariantCulture);
                    }

                    await WriteErrorAsync(context, request, response.ErrorKind, response.Status);
                    return;
            }

            var content = response.Behavior == FakeBehavior.ContentFiltered ? "" : response.Content ?? DefaultContent(request.Model);
            switch (Continuation(json))
            {
                case (true, _) when RejectsPrefill:
                    await WriteErrorAsync(context, request, FakeError.PrefillRejected);
                    return;
                case (true, { } prefill) when content.StartsWith(prefill, StringComparison.Ordinal):
                    // A model continues its own trailing assistant turn exactly.
                    content = content[prefill.Length..];
                    break;
                case (false, { } quoted) when !response.RestartOnContinuation && content.StartsWith(quoted, StringComparison.Ordinal):
                    content = content[quoted.Length..];
                    break;
            }

            if (request.IsStream)
            {
                await WriteStreamAsync(context, request, response, content, () => Volatile.Write(ref serverAborted, true));
            }
            else
            {
                await WriteUnaryAsync(context, request, response, content, () => Volatile.Write(ref serverAborted, true));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away mid-write.
        }
        finally
        {
            // Decided here too, not only in the RequestAborted callback: the handler's own wait on
            // that token may end (and release a test waiting on Ended) before the callback has run.
            if (context.RequestAborted.IsCancellationRequested && !Volatile.Read(ref serverAborted))
            {
                request.MarkDisconnected();
            }

            request.MarkEnded();
        }
    }

    private async Task WriteModelListAsync(HttpContext context)
    {
        Interlocked.Increment(ref _modelListCount);
        AddProviderHeaders(context.Response);
        if (!IsAuthorized(context.Request))
        {
            var request = new FakeRequest
            {
                Number = 0, Method = context.Request.Method, Path = context.Request.Path.Value ?? "", Query = "",
                Headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
                Body = "", Model = "", IsStream = false, ReceivedAt = DateTimeOffset.UtcNow,
            };
            await WriteErrorAsync(context, request, FakeError.Unauthorized);
            return;
        }

        context.Response.ContentType = JsonContentType;
        await context.Response.WriteAsync(ModelListBody(ListedModels), context.RequestAborted);
    }

    private async Task WriteErrorAsync(HttpContext context, FakeRequest request, FakeError kind, int? status = null)
    {
        var (defaultStatus, body) = ErrorFor(kind, request);
        context.Response.StatusCode = status ?? defaultStatus;
        context.Response.ContentType = JsonContentType;
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private async Task WriteUnaryAsync(HttpContext context, FakeRequest request, FakeResponse response, string content, Action aborting)
    {
        if (response.FirstTokenDelay > TimeSpan.Zero)
        {
            await Task.Delay(response.FirstTokenDelay, context.RequestAborted);
        }

        var body = Encoding.UTF8.GetBytes(response.Behavior == FakeBehavior.MalformedChunk ? "{\"id\": \"broken\", \"choices\": [ {" : UnaryBody(request, response, content));
        context.Response.StatusCode = 200;
        context.Response.ContentType = JsonContentType;
        var half = body.Length / 2;
        switch (response.Behavior)
        {
            case FakeBehavior.CutMidStream:
                await context.Response.Body.WriteAsync(body.AsMemory(0, half), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await AbortAfterDeliveryAsync(context, aborting);
                return;
            case FakeBehavior.EndWithoutFinal:
                await context.Response.Body.WriteAsync(body.AsMemory(0, half), context.RequestAborted);
                return;
            case FakeBehavior.Stall:
                await context.Response.Body.WriteAsync(body.AsMemory(0, half), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await WaitForClientAsync(context);
                return;
            default:
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body, context.RequestAborted);
                return;
        }
    }

    private async Task WriteStreamAsync(HttpContext context, FakeRequest request, FakeResponse response, string content, Action aborting)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = StreamContentType;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);

        var deltas = 0;
        var first = true;
        foreach (var frame in StreamFrames(request, response, content))
        {
            if (frame.IsTerminator && response.Behavior == FakeBehavior.MissingTerminator)
            {
                continue;
            }

            if (frame.IsContent && first && response.FirstTokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(response.FirstTokenDelay, context.RequestAborted);
            }

            await context.Response.WriteAsync(frame.Text, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (frame.IsContent)
            {
                first = false;
                deltas++;
                if (deltas == response.AfterDeltas)
                {
                    switch (response.Behavior)
                    {
                        case FakeBehavior.CutMidStream:
                            await AbortAfterDeliveryAsync(context, aborting);
                            return;
                        case FakeBehavior.EndWithoutFinal:
                            return;
                        case FakeBehavior.Stall:
                            await WaitForClientAsync(context);
                            return;
                        case FakeBehavior.MalformedChunk:
                            await context.Response.WriteAsync(MalformedFrame, context.RequestAborted);
                            await context.Response.Body.FlushAsync(context.RequestAborted);
                            return;
                        case FakeBehavior.BadEvents:
                            for (var i = 0; i < response.BadEventCount; i++)
                            {
                                await context.Response.WriteAsync(MalformedFrame, context.RequestAborted);
                            }

                            await context.Response.Body.FlushAsync(context.RequestAborted);
                            break;
                        case FakeBehavior.InStreamError:
                            await context.Response.WriteAsync(InStreamErrorFrame, context.RequestAborted);
                            await context.Response.Body.FlushAsync(context.RequestAborted);
                            return;
                    }
                }
            }

            if (response.FrameDelay > TimeSpan.Zero)
            {
                await Task.Delay(response.FrameDelay, context.RequestAborted);
            }
        }

        if (response.Behavior == FakeBehavior.MissingTerminator)
        {
            // The answer is complete but the connection stays open: a client must finish on its own.
            await WaitForClientAsync(context);
        }
    }

    /// <summary>
    /// Aborts the connection (a reset, no chunked terminator) once the written bytes had time to
    /// reach the client: a reset discards data the receiver has not read yet.
    /// </summary>
    private static async Task AbortAfterDeliveryAsync(HttpContext context, Action aborting)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(150), context.RequestAborted);
        aborting();
        context.Abort();
    }

    /// <summary>Holds the request open until the client leaves (bounded at 2 minutes).</summary>
    private static async Task WaitForClientAsync(HttpContext context)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [GeneratedRegex(@"\S+\s*|\s+")]
    private static partial Regex WordRegex();
}

/// <summary>One framed server-sent event as written to the wire.</summary>
public readonly record struct SseFrame(string Text, bool IsContent = false, bool IsTerminator = false);

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class FakeJson : System.Text.Json.Serialization.JsonSerializerContext;
