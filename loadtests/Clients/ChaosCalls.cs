using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.LoadTests.Fakes;
using MonkeyCoder.V1;

namespace MonkeyCoder.LoadTests.Clients;

/// <summary>The kinds of call the chaos soak mixes.</summary>
public enum ChaosCallKind
{
    Execute,
    StreamExecute,
    Chat,
    ChatStream,
    GetUsage,
}

/// <summary>
/// How one logical call ended (a retried pair is one call). <see cref="ExecutionId"/> is set when
/// it succeeded with an execution (usage must then hold it once); <see cref="TruncatedSuccess"/>
/// marks an answer that ended "successfully" but differs from what the fake provider sent.
/// </summary>
public sealed record ChaosOutcome(bool Ok, string Status, string? Error)
{
    public string? ExecutionId { get; init; }

    public bool StreamStarted { get; init; }

    public bool TruncatedSuccess { get; init; }

    public bool Retried { get; init; }

    /// <summary>The first attempt never reached a server (connection refused) and was sent again at once.</summary>
    public bool TransparentlyRetried { get; init; }

    /// <summary>The call failed before anything was sent (a refused connection).</summary>
    public bool NeverSent { get; init; }

    /// <summary>A GetUsage answered with <c>stale: true</c> (the caller's last answer, while the usage store was down).</summary>
    public bool Stale { get; init; }

    /// <summary>Set on a failure the server said to retry (gRPC RetryInfo, HTTP Retry-After).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static ChaosOutcome Fail(string status, string? error, TimeSpan? retryAfter = null, bool started = false) =>
        new(false, status, error) { RetryAfter = retryAfter, StreamStarted = started };
}

/// <summary>
/// The chaos soak's clients, as a careful real client behaves: gRPC over one channel that
/// balances round-robin across the replicas (static resolver, <c>round_robin</c>: a replica whose
/// connection fails leaves the rotation until it reconnects), REST over HttpClient to whichever
/// REST host is current; one retry when the server says so (a retryable status with RetryInfo, or
/// 429/503 with Retry-After), honouring the delay (at most 5 s). Every answer is checked against
/// what the fake provider sent for the prompt's marker.
/// </summary>
public sealed class ChaosCalls : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    private readonly GrpcChannel _channel;
    private readonly HttpClient _http;
    private readonly Metadata _auth;
    private volatile Uri _rest;

    public ChaosCalls(IReadOnlyList<Uri> replicas, Uri rest, string apiKey)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => [.. replicas.Select(r => new BalancerAddress(r.Host, r.Port))]));
        _channel = GrpcChannel.ForAddress("static:///monkey-coder", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            ServiceProvider = services.BuildServiceProvider(),
            // Reconnect to a restarted replica within ~2 s (the defaults back off up to 2 min).
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(200),
            MaxReconnectBackoff = TimeSpan.FromSeconds(2),
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            },
        });
        _auth = new Metadata { { "authorization", "Bearer " + apiKey } };
        _rest = rest;
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            MaxConnectionsPerServer = int.MaxValue,
        })
        {
            Timeout = Deadline,
        };
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>The REST host new calls go to (a rolling restart starts the new host first, then moves traffic).</summary>
    public Uri Rest
    {
        get => _rest;
        set => _rest = value;
    }

    public GrpcChannel Channel => _channel;

    public static Metadata Auth(string key) => new() { { "authorization", "Bearer " + key } };

    public Task<ChaosOutcome> CallAsync(ChaosCallKind kind, string marker, CancellationToken cancellationToken) =>
        WithOneRetryAsync(() => kind switch
        {
            ChaosCallKind.Execute => ExecuteAsync(marker, cancellationToken),
            ChaosCallKind.StreamExecute => StreamAsync(marker, cancellationToken),
            ChaosCallKind.Chat => ChatAsync(marker, cancellationToken),
            ChaosCallKind.ChatStream => ChatStreamAsync(marker, cancellationToken),
            _ => GetUsageAsync(cancellationToken),
        }, cancellationToken);

    private static async Task<ChaosOutcome> WithOneRetryAsync(Func<Task<ChaosOutcome>> attempt, CancellationToken cancellationToken)
    {
        var first = await Guard(attempt);
        if (first.NeverSent)
        {
            // gRFC A6 transparent retry: the call never left the client (the connection it was
            // given was refused, e.g. a replica that had just stopped listening); other gRPC
            // clients retry this by themselves, once, on another connection.
            first = await Guard(attempt) with { TransparentlyRetried = true };
        }

        if (first.Ok || first.RetryAfter is not { } delay)
        {
            return first;
        }

        await Task.Delay(delay < MaxRetryDelay ? delay : MaxRetryDelay, cancellationToken);
        var second = await Guard(attempt);
        return second with { Retried = true, TransparentlyRetried = first.TransparentlyRetried, StreamStarted = first.StreamStarted || second.StreamStarted };

        static async Task<ChaosOutcome> Guard(Func<Task<ChaosOutcome>> attempt)
        {
            try
            {
                return await attempt();
            }
            catch (RpcException ex)
            {
                return Failed(ex);
            }
            catch (HttpRequestException ex)
            {
                return ChaosOutcome.Fail("HTTP_" + (ex.HttpRequestError == HttpRequestError.Unknown ? "ERROR" : ex.HttpRequestError.ToString().ToUpperInvariant()), ex.Message);
            }
            catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
            {
                return ChaosOutcome.Fail("HTTP_TIMEOUT", ex.Message);
            }
            catch (IOException ex)
            {
                return ChaosOutcome.Fail("IO_" + ex.GetType().Name, ex.Message);
            }
            catch (JsonException ex)
            {
                return ChaosOutcome.Fail("BAD_JSON", ex.Message);
            }
        }
    }

    private static ChaosOutcome Failed(RpcException ex)
    {
        TimeSpan? retry = null;
        if (ex.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.Aborted
            && ex.GetRpcStatus()?.GetDetail<Google.Rpc.RetryInfo>()?.RetryDelay is { } delay)
        {
            retry = delay.ToTimeSpan();
        }

        var neverSent = ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError };
        return ChaosOutcome.Fail(ex.StatusCode.ToString(), ex.Status.Detail, retry) with { NeverSent = neverSent };
    }

    private static ExecuteRequest Request(string marker) => new()
    {
        TaskType = TaskType.CodeGeneration,
        Prompt = $"write a python function that parses a comma separated list of integers ({marker})",
        MaxTokens = 64,
    };

    private async Task<ChaosOutcome> ExecuteAsync(string marker, CancellationToken cancellationToken)
    {
        var client = new RouterService.RouterServiceClient(_channel);
        var response = await client.ExecuteAsync(Request(marker), _auth, DateTime.UtcNow + Deadline, cancellationToken);
        if (response.Status != ExecutionStatus.Completed)
        {
            return ChaosOutcome.Fail("NOT_COMPLETED", $"status {response.Status}");
        }

        return response.Content == FakeProvider.ContentFor(marker)
            ? new ChaosOutcome(true, "OK", null) { ExecutionId = response.ExecutionId }
            : ChaosOutcome.Fail("CONTENT_MISMATCH", $"{response.Content.Length} chars, not what the provider sent") with { TruncatedSuccess = true };
    }

    private async Task<ChaosOutcome> StreamAsync(string marker, CancellationToken cancellationToken)
    {
        var client = new RouterService.RouterServiceClient(_channel);
        using var call = client.StreamExecute(Request(marker), _auth, DateTime.UtcNow + Deadline, cancellationToken);
        var started = false;
        var text = new StringBuilder();
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                switch (message.EventCase)
                {
                    case StreamExecuteResponse.EventOneofCase.Started:
                        started = true;
                        break;
                    case StreamExecuteResponse.EventOneofCase.Delta:
                        text.Append(message.Delta.Text);
                        break;
                    case StreamExecuteResponse.EventOneofCase.Final:
                        if (message.Final.Status != ExecutionStatus.Completed)
                        {
                            return ChaosOutcome.Fail("NOT_COMPLETED", $"final status {message.Final.Status}", started: started);
                        }

                        return text.ToString() == FakeProvider.ContentFor(marker)
                            ? new ChaosOutcome(true, "OK", null) { ExecutionId = message.Final.ExecutionId, StreamStarted = true }
                            : ChaosOutcome.Fail("TRUNCATED_SUCCESS", $"final COMPLETED after {text.Length} chars; the provider sent {FakeProvider.ContentFor(marker).Length}", started: true) with { TruncatedSuccess = true };
                }
            }
        }
        catch (RpcException ex)
        {
            return Failed(ex) with { StreamStarted = started };
        }

        return ChaosOutcome.Fail("NO_FINAL", "the stream ended OK without a final event", started: started);
    }

    private async Task<ChaosOutcome> GetUsageAsync(CancellationToken cancellationToken)
    {
        var client = new UsageService.UsageServiceClient(_channel);
        var answer = await client.GetUsageAsync(new GetUsageRequest { StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-10)) }, _auth, DateTime.UtcNow + Deadline, cancellationToken);
        return new ChaosOutcome(true, "OK", null) { Stale = answer.Stale };
    }

    private static string ChatBody(string marker, bool stream) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model"] = "auto",
        ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = $"write a python function that parses a comma separated list of integers ({marker})" } },
        ["max_tokens"] = 64,
        ["stream"] = stream,
    });

    private HttpRequestMessage ChatRequest(string marker, bool stream) =>
        new(HttpMethod.Post, new Uri(_rest, "/v1/chat/completions")) { Content = new StringContent(ChatBody(marker, stream), Encoding.UTF8, "application/json") };

    private static async Task<ChaosOutcome> HttpFailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        TimeSpan? retry = null;
        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is { } after)
        {
            retry = after.Delta ?? (after.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            if (retry < TimeSpan.Zero)
            {
                retry = TimeSpan.Zero;
            }
        }

        return ChaosOutcome.Fail($"HTTP_{(int)response.StatusCode}", body.Length > 300 ? body[..300] : body, retry);
    }

    private async Task<ChaosOutcome> ChatAsync(string marker, CancellationToken cancellationToken)
    {
        using var request = ChatRequest(marker, stream: false);
        using var response = await _http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return await HttpFailureAsync(response, cancellationToken);
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var root = json.RootElement;
        var choice = root.GetProperty("choices")[0];
        var content = choice.GetProperty("message").GetProperty("content").GetString();
        if (choice.GetProperty("finish_reason").GetString() is not { Length: > 0 })
        {
            return ChaosOutcome.Fail("NO_FINISH_REASON", "no finish_reason");
        }

        return content == FakeProvider.ContentFor(marker)
            ? new ChaosOutcome(true, "OK", null) { ExecutionId = ExecutionIdOf(root.GetProperty("id").GetString()) }
            : ChaosOutcome.Fail("CONTENT_MISMATCH", $"{content?.Length} chars, not what the provider sent") with { TruncatedSuccess = true };
    }

    private async Task<ChaosOutcome> ChatStreamAsync(string marker, CancellationToken cancellationToken)
    {
        using var request = ChatRequest(marker, stream: true);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return await HttpFailureAsync(response, cancellationToken);
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var text = new StringBuilder();
        string? id = null;
        var finished = false;
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                var data = line[5..].Trim();
                if (data == "[DONE]")
                {
                    if (!finished)
                    {
                        return ChaosOutcome.Fail("NO_FINISH_REASON", "[DONE] without a finish_reason", started: true);
                    }

                    return text.ToString() == FakeProvider.ContentFor(marker)
                        ? new ChaosOutcome(true, "OK", null) { ExecutionId = ExecutionIdOf(id), StreamStarted = true }
                        : ChaosOutcome.Fail("TRUNCATED_SUCCESS", $"[DONE] after {text.Length} chars; the provider sent {FakeProvider.ContentFor(marker).Length}", started: true) with { TruncatedSuccess = true };
                }

                using var json = JsonDocument.Parse(data);
                if (json.RootElement.TryGetProperty("error", out _))
                {
                    return ChaosOutcome.Fail("STREAM_ERROR", data.Length > 300 ? data[..300] : data, started: true);
                }

                id ??= json.RootElement.TryGetProperty("id", out var i) ? i.GetString() : null;
                if (json.RootElement.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
                {
                    var choice = choices[0];
                    if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var piece) && piece.ValueKind == JsonValueKind.String)
                    {
                        text.Append(piece.GetString());
                    }

                    if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                    {
                        finished = true;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return ChaosOutcome.Fail("STREAM_CUT", ex.Message, started: true);
        }

        return ChaosOutcome.Fail("NO_DONE", "the stream ended without data: [DONE]", started: true);
    }

    /// <summary>Chat completion ids are "chatcmpl-" + the execution id.</summary>
    private static string? ExecutionIdOf(string? completionId) =>
        completionId?.StartsWith("chatcmpl-", StringComparison.Ordinal) == true ? completionId["chatcmpl-".Length..] : completionId;

    public void Dispose()
    {
        _channel.Dispose();
        _http.Dispose();
    }
}
