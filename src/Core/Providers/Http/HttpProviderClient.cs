using System.Buffers;
using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.Core.Providers.Http;

/// <summary>
/// One server-sent event: its type ("message" when the stream names none) and raw data bytes. The
/// bytes sit in a buffer the stream reuses (<see cref="SseEventBuffer"/>): they are valid until the
/// stream moves to its next event, so parse them, don't keep them.
/// </summary>
internal readonly struct SseEvent(string eventType, ReadOnlyMemory<byte> data)
{
    public string EventType { get; } = eventType;

    public ReadOnlySpan<byte> Data => data.Span;

    public bool IsDone => Data.SequenceEqual("[DONE]"u8);

    public override string ToString() => $"{EventType}: {Encoding.UTF8.GetString(Data)}";
}

/// <summary>Unparseable events of one stream: in a row (reset by a good one) and in all.</summary>
internal sealed class BadEventCounter
{
    public int Consecutive { get; set; }

    public int Total { get; set; }
}

/// <summary>
/// Shared HTTP plumbing for the upstream clients: one pooled <see cref="HttpClient"/> per provider
/// (HTTP/2 where the server offers it), timeouts on the injected <see cref="TimeProvider"/>, the
/// caller's cancellation reaching the socket, server-sent event reading through the BCL
/// <see cref="SseParser"/>, and classification of every failure. Each client is also its
/// provider's active health probe: <see cref="ProbeAsync"/> lists the models with the key, which
/// every one of these APIs serves without spending tokens.
/// </summary>
internal abstract partial class HttpProviderClient : IProviderClient, Observability.IProviderProbe, IDisposable
{
    private readonly HttpClient _http;

    protected HttpProviderClient(ProviderClientSettings settings, TokenCounter tokens, TimeProvider time, ILogger logger, HttpMessageHandler? handler = null)
    {
        Settings = settings;
        Tokens = tokens;
        Time = time;
        Logger = logger;
        _http = new HttpClient(handler ?? CreateHandler(settings), disposeHandler: true)
        {
            // Timeouts are ours (headers, whole request, stream idle), on the injected clock.
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }

    public string Provider => Settings.Name;

    public Uri? BaseUrl => Settings.PublicBaseUrl;

    protected ProviderClientSettings Settings { get; }

    protected TokenCounter Tokens { get; }

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    public abstract Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);

    public abstract IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>HTTP/2 over TLS is negotiated by ALPN; plain http:// stays on HTTP/1.1.</summary>
    public static SocketsHttpHandler CreateHandler(ProviderClientSettings settings) => new()
    {
        PooledConnectionLifetime = settings.PooledConnectionLifetime,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        ConnectTimeout = settings.ConnectTimeout,
        EnableMultipleHttp2Connections = true,
        AutomaticDecompression = DecompressionMethods.All,
        AllowAutoRedirect = false,
        UseCookies = false,
        MaxConnectionsPerServer = 256,
        // The current span (the provider attempt) goes out as traceparent/tracestate, unless turned off.
        ActivityHeadersPropagator = settings.PropagateTraceContext ? AttemptTraceContextPropagator.Instance : System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        // A response abandoned mid-body (the caller cancelled a stream) closes its HTTP/1.1
        // connection at once. By default the handler first drains it for up to 2 s to reuse the
        // connection: the provider keeps generating, and billing, for those seconds.
        MaxResponseDrainSize = 0,
    };

    /// <summary>Builds a POST with a JSON body written by <paramref name="write"/>.</summary>
    protected HttpRequestMessage Post(string relativePath, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, Combine(Settings.BaseUrl, relativePath)) { Content = content };
        AddHeaders(request);
        return request;
    }

    /// <summary>Authentication and version headers of the protocol.</summary>
    protected abstract void AddHeaders(HttpRequestMessage request);

    /// <summary>The model list, relative to the base URL: the cheapest authenticated call of the API.</summary>
    protected abstract string ModelsPath { get; }

    /// <summary>Model lists larger than this (OpenRouter's is ~1 MB) are not read for context windows.</summary>
    public const int MaxModelListBytes = 8 * 1024 * 1024;

    /// <summary>
    /// When set, a healthy probe reads the model list and passes the context windows it reports
    /// (<see cref="ModelListParser"/>) here; <see cref="ProviderClientFactory"/> sets it for providers
    /// with operator-added models whose window is unset.
    /// </summary>
    public Action<IReadOnlyDictionary<string, int>>? ContextWindowsReported { get; set; }

    private static async Task<byte[]?> ReadCappedAsync(HttpContent content, int cap, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > cap)
        {
            return null;
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > cap)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// GET the model list with the provider's key: 2xx is healthy; 429 is healthy too (the provider
    /// answers, only our quota is spent); a refused key, a 5xx or no answer is not. The detail
    /// never carries the key, the URL or the provider's message.
    /// </summary>
    public async Task<Observability.ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Combine(Settings.BaseUrl, ModelsPath));
        AddHeaders(request);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode && ContextWindowsReported is { } report
            && await ReadCappedAsync(response.Content, MaxModelListBytes, cancellationToken) is { } body)
        {
            report(ModelListParser.ContextWindows(body));
        }

        return status switch
        {
            >= 200 and < 300 => Observability.ProbeResult.Ok($"GET {ModelsPath}: HTTP {status}"),
            429 => Observability.ProbeResult.Ok($"GET {ModelsPath}: HTTP 429 (reachable, rate limited)"),
            401 or 403 => Observability.ProbeResult.Failed($"GET {ModelsPath}: HTTP {status} (credentials refused)"),
            _ => Observability.ProbeResult.Failed($"GET {ModelsPath}: HTTP {status}"),
        };
    }

    /// <summary>Sends a unary request and deserializes its body; every failure arrives as a <see cref="ProviderException"/>.</summary>
    protected async Task<T> SendAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> typeInfo, string model, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(Settings.RequestTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var inBody = false;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            inBody = true;
            if (!response.IsSuccessStatusCode)
            {
                throw await FailureAsync(response, model, linked.Token);
            }

            await using var body = await response.Content.ReadAsStreamAsync(linked.Token);
            return await JsonSerializer.DeserializeAsync(body, typeInfo, linked.Token)
                ?? throw new ProviderException(Provider, ProviderErrorClass.MalformedStream, "The provider sent an empty JSON body.");
        }
        catch (Exception ex) when (ex is not ProviderException && !cancellationToken.IsCancellationRequested)
        {
            throw Failed(ex, model, timer.IsCancellationRequested, inBody);
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>
    /// Sends a streaming request and yields its server-sent events. The headers timeout covers the
    /// wait for the response; after it, the idle timeout restarts before every event.
    /// </summary>
    protected async IAsyncEnumerable<SseEvent> SendStreamAsync(HttpRequestMessage request, string model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(Settings.ResponseHeadersTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            request.Dispose();
            throw Failed(ex, model, timer.IsCancellationRequested, inBody: false);
        }

        using (request)
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                ProviderException failure;
                try
                {
                    failure = await FailureAsync(response, model, linked.Token);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = Failed(ex, model, timer.IsCancellationRequested, inBody: false);
                }

                throw failure;
            }

            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(linked.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw Failed(ex, model, timer.IsCancellationRequested, inBody: true);
            }

            await using (body)
            using (var buffer = new SseEventBuffer())
            {
                var parser = SseParser.Create(body, buffer.Hold);
                await using var events = parser.EnumerateAsync(linked.Token).GetAsyncEnumerator(linked.Token);
                while (true)
                {
                    timer.CancelAfter(Settings.StreamIdleTimeout);
                    bool more;
                    try
                    {
                        more = await events.MoveNextAsync();
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw Failed(ex, model, timer.IsCancellationRequested, inBody: true);
                    }

                    if (!more)
                    {
                        yield break;
                    }

                    yield return events.Current.Data;
                }
            }
        }
    }

    /// <summary>
    /// Deserializes one event's JSON, or skips it: one unparseable event (a proxy's stray line, a
    /// truncated frame) is not a dead stream. Each skip is counted in
    /// <c>monkeycoder.provider.stream_bad_events</c> and the first of a stream is logged with provider and
    /// model; <see cref="ProviderClientSettings.MaxConsecutiveBadEvents"/> in a row end the attempt as
    /// a malformed stream (which the executor then recovers). Null when skipped.
    /// </summary>
    protected T? ParseEventOrSkip<T>(SseEvent item, JsonTypeInfo<T> typeInfo, BadEventCounter counter, string model)
        where T : class
    {
        try
        {
            var parsed = JsonSerializer.Deserialize(item.Data, typeInfo) ?? throw new JsonException("The event data is JSON null.");
            counter.Consecutive = 0;
            return parsed;
        }
        catch (JsonException ex)
        {
            CountBadEvent(item, counter, model, ex);
            return null;
        }
    }

    /// <summary>
    /// <see cref="ParseEventOrSkip{T}(SseEvent, JsonTypeInfo{T}, BadEventCounter, string)"/> with a
    /// protocol's own parser, which fills <paramref name="target"/> or throws <see cref="JsonException"/>.
    /// False when the event was skipped.
    /// </summary>
    protected bool ParseEventOrSkip<TTarget>(SseEvent item, ReadOnlySpanAction<byte, TTarget> parse, TTarget target, BadEventCounter counter, string model)
    {
        try
        {
            parse(item.Data, target);
            counter.Consecutive = 0;
            return true;
        }
        catch (JsonException ex)
        {
            CountBadEvent(item, counter, model, ex);
            return false;
        }
    }

    private void CountBadEvent(SseEvent item, BadEventCounter counter, string model, JsonException ex)
    {
        counter.Consecutive++;
        counter.Total++;
        ProviderStreamMetrics.BadEvent(Provider, model);
        if (counter.Total == 1)
        {
            Log.BadEventSkipped(Logger, Provider, model, item.EventType);
        }

        if (counter.Consecutive >= Math.Max(1, Settings.MaxConsecutiveBadEvents))
        {
            throw new ProviderException(Provider, ProviderErrorClass.MalformedStream,
                $"The provider sent {counter.Consecutive} invalid '{item.EventType}' stream events in a row: {ex.Message}", ex);
        }
    }

    /// <summary>Usage as reported, or estimated with the tokenizer when the provider reported none.</summary>
    protected TokenUsage UsageOrEstimate(long? input, long? output, ProviderRequest request, string content)
    {
        if (input is null && output is null)
        {
            return new TokenUsage(Tokens.Count(request), Tokens.Count(content), Estimated: true);
        }

        return new TokenUsage(input ?? Tokens.Count(request), output ?? Tokens.Count(content), Estimated: input is null || output is null);
    }

    /// <summary>
    /// A content-filter finish with no content is a failure (nothing to return); with some
    /// content it is a finish reason on a partial answer.
    /// </summary>
    protected ProviderException ContentFiltered(string providerReason) =>
        new(Provider, ProviderErrorClass.ContentFiltered, $"The provider's safety system blocked the answer ({providerReason}).") { ProviderCode = providerReason };

    /// <summary>An error object the provider sent inside a 200 response or stream.</summary>
    protected ProviderException StreamError(string body) => ProviderErrorClassifier.FromStreamError(Provider, body, Settings.ApiKey);

    protected ProviderException StreamCut(string detail) =>
        new(Provider, ProviderErrorClass.StreamCut, "The stream ended before its terminator: " + detail);

    private async Task<ProviderException> FailureAsync(HttpResponseMessage response, string model, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            body = "";
        }

        var failure = ProviderErrorClassifier.FromResponse(Provider, (int)response.StatusCode, response.Headers, body, Time.GetUtcNow(), Settings.ApiKey);
        Log.UpstreamFailed(Logger, Provider, model, (int)response.StatusCode, failure.ClassName, failure.ProviderCode ?? "");
        return failure;
    }

    private ProviderException Failed(Exception ex, string model, bool timedOut, bool inBody)
    {
        var failure = ProviderErrorClassifier.FromException(Provider, ex, timedOut, inBody);
        if (ex is not ProviderException)
        {
            Log.UpstreamTransportFailed(Logger, Provider, model, failure.ClassName, ex.GetType().Name);
        }

        return failure;
    }

    private static Uri Combine(Uri baseUrl, string relative)
    {
        var root = baseUrl.ToString();
        return new Uri(root.EndsWith('/') ? root + relative.TrimStart('/') : root + "/" + relative.TrimStart('/'));
    }

    public void Dispose()
    {
        _http.Dispose();
        GC.SuppressFinalize(this);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.ProviderStreamBadEvent, Level = LogLevel.Warning,
            Message = "Provider {Provider} sent an unparseable '{EventType}' stream event for {Model}; skipped (further ones in this stream are only counted)")]
        public static partial void BadEventSkipped(ILogger logger, string provider, string model, string eventType);

        [LoggerMessage(EventId = Observability.EventIds.ProviderUpstreamFailed, Level = LogLevel.Warning,
            Message = "Provider {Provider} answered HTTP {Status} for {Model}: {ErrorClass} (provider code '{ProviderCode}')")]
        public static partial void UpstreamFailed(ILogger logger, string provider, string model, int status, string errorClass, string providerCode);

        [LoggerMessage(EventId = Observability.EventIds.ProviderTransportFailed, Level = LogLevel.Warning,
            Message = "Call to provider {Provider} for {Model} failed: {ErrorClass} ({ExceptionType})")]
        public static partial void UpstreamTransportFailed(ILogger logger, string provider, string model, string errorClass, string exceptionType);
    }
}
