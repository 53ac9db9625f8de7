using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.LoadTests.Fakes;

/// <summary>How a <see cref="FakeProvider"/> answers generation calls right now.</summary>
public enum FakeMode
{
    Healthy,

    /// <summary>The provider's own 5xx error (OpenAI 503 "overloaded", Anthropic 529 overloaded_error).</summary>
    ServerError,

    /// <summary>Accepts the request and never answers (until the client leaves): a timeout.</summary>
    Hang,
}

/// <summary>
/// A provider stand-in for load runs: Kestrel on a free loopback port inside the load tool,
/// speaking one provider's wire format — OpenAI chat completions (<c>POST /v1/chat/completions</c>,
/// Bearer key, <c>chat.completion</c> / <c>chat.completion.chunk</c> SSE ending in
/// <c>data: [DONE]</c>) or Anthropic Messages (<c>POST /v1/messages</c>, <c>x-api-key</c> +
/// <c>anthropic-version</c>, named events <c>message_start</c> … <c>message_stop</c>) — plus the
/// model list the Service probes. Its answer is a pure function of the <c>chaos-N</c> marker in
/// the prompt (<see cref="ContentFor"/>), so a client can check every answer it got, streamed or
/// not, against exactly what the fake sent. <see cref="Mode"/> switches it into a fault at run time.
/// The end-to-end tests' fakes (tests/…/Fakes) script faults per request; this one is built for
/// thousands of identical calls a second.
/// </summary>
public sealed partial class FakeProvider : IAsyncDisposable
{
    public const string OpenAiProtocol = "openai";
    public const string AnthropicProtocol = "anthropic";

    private static readonly string[] Words =
    [
        "def", "parse(text):", "return", "[int(x)", "for", "x", "in", "text.split(',')", "if", "x.strip()]",
        "#", "splits", "on", "commas,", "drops", "blanks,", "and", "converts", "each", "piece", "to", "an", "integer.", "Done.",
    ];

    private readonly WebApplication _app;
    private volatile FakeMode _mode = FakeMode.Healthy;
    private long _requests;
    private long _faulted;

    private FakeProvider(string protocol, string apiKey, WebApplication app, int port)
    {
        Protocol = protocol;
        ApiKey = apiKey;
        _app = app;
        Root = new Uri($"http://127.0.0.1:{port}");
    }

    public string Protocol { get; }

    public string ApiKey { get; }

    public Uri Root { get; }

    /// <summary>As the catalog takes it: OpenAI-compatible with "/v1", Anthropic without.</summary>
    public Uri BaseUrl => Protocol == OpenAiProtocol ? new Uri(Root, "/v1") : Root;

    /// <summary>Delay before the first content (unary: before the body). Defaults to 60 ms.</summary>
    public TimeSpan FirstTokenDelay { get; set; } = TimeSpan.FromMilliseconds(60);

    /// <summary>Delay between streamed content frames. Defaults to 15 ms (12 deltas ≈ 0.2 s a stream).</summary>
    public TimeSpan FrameDelay { get; set; } = TimeSpan.FromMilliseconds(15);

    public FakeMode Mode
    {
        get => _mode;
        set => _mode = value;
    }

    /// <summary>Generation requests received (model-list probes not counted).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Generation requests answered with a fault (error or hang).</summary>
    public long Faulted => Interlocked.Read(ref _faulted);

    public static async Task<FakeProvider> StartAsync(string protocol, CancellationToken cancellationToken)
    {
        var port = Hosts.HostProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1AndHttp2);
        });
        var app = builder.Build();
        var fake = new FakeProvider(protocol, (protocol == OpenAiProtocol ? "sk-chaos-" : "sk-ant-api03-chaos-") + Guid.NewGuid().ToString("N"), app, port);
        app.Run(fake.HandleAsync);
        await app.StartAsync(cancellationToken);
        return fake;
    }

    /// <summary>The whole answer for a prompt carrying <c>chaos-N</c> (or any other prompt: marker "none").</summary>
    public static string ContentFor(string marker) => $"[{marker}] " + string.Join(' ', Words);

    /// <summary>The marker of a prompt or request body: <c>chaos-N</c>, or "none".</summary>
    public static string MarkerOf(string text) => MarkerRegex().Match(text) is { Success: true } m ? m.Value : "none";

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        try
        {
            if (HttpMethods.IsGet(request.Method) && request.Path == "/v1/models")
            {
                await WriteJsonAsync(context, 200, Protocol == OpenAiProtocol
                    ? "{\"object\":\"list\",\"data\":[{\"id\":\"chaos\",\"object\":\"model\",\"created\":1730000000,\"owned_by\":\"openai\"}]}"
                    : "{\"data\":[{\"type\":\"model\",\"id\":\"chaos\",\"display_name\":\"chaos\",\"created_at\":\"2026-01-01T00:00:00Z\"}],\"has_more\":false,\"first_id\":\"chaos\",\"last_id\":\"chaos\"}");
                return;
            }

            var endpoint = Protocol == OpenAiProtocol ? "/v1/chat/completions" : "/v1/messages";
            if (!HttpMethods.IsPost(request.Method) || request.Path != endpoint)
            {
                await WriteJsonAsync(context, 404, Error(404, "Not found"));
                return;
            }

            if (!Authorized(request))
            {
                await WriteJsonAsync(context, 401, Error(401, "invalid api key"));
                return;
            }

            string body;
            using (var reader = new StreamReader(request.Body, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync(aborted);
            }

            Interlocked.Increment(ref _requests);
            using var json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
            var model = json.RootElement.TryGetProperty("model", out var m) ? m.GetString() ?? "" : "";
            var stream = json.RootElement.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            switch (_mode)
            {
                case FakeMode.ServerError:
                    Interlocked.Increment(ref _faulted);
                    await WriteJsonAsync(context, Protocol == OpenAiProtocol ? 503 : 529, Error(503, "The engine is currently overloaded, please try again later"));
                    return;
                case FakeMode.Hang:
                    Interlocked.Increment(ref _faulted);
                    await Task.Delay(TimeSpan.FromMinutes(2), aborted);
                    return;
            }

            var content = ContentFor(MarkerOf(body));
            var outputTokens = Words.Length + 1;
            if (stream)
            {
                await StreamAsync(context, model, content, outputTokens);
            }
            else
            {
                await Task.Delay(FirstTokenDelay, aborted);
                await WriteJsonAsync(context, 200, Protocol == OpenAiProtocol ? OpenAiBody(model, content, outputTokens) : AnthropicBody(model, content, outputTokens));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            // The client left (its deadline, a failover, a replica that was killed).
        }
    }

    private bool Authorized(HttpRequest request) => Protocol == OpenAiProtocol
        ? request.Headers.Authorization.ToString() == "Bearer " + ApiKey
        : request.Headers["x-api-key"].ToString() == ApiKey && request.Headers.ContainsKey("anthropic-version");

    private async Task StreamAsync(HttpContext context, string model, string content, int outputTokens)
    {
        var aborted = context.RequestAborted;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(aborted);
        var frames = Protocol == OpenAiProtocol ? OpenAiFrames(model, content, outputTokens) : AnthropicFrames(model, content, outputTokens);
        var first = true;
        foreach (var (frame, isContent) in frames)
        {
            if (isContent)
            {
                await Task.Delay(first ? FirstTokenDelay : FrameDelay, aborted);
                first = false;
            }

            await context.Response.WriteAsync(frame, aborted);
            await context.Response.Body.FlushAsync(aborted);
        }
    }

    /// <summary>About two words a delta, as providers stream.</summary>
    private static IEnumerable<string> Deltas(string content)
    {
        var words = WordRegex().Matches(content).Select(w => w.Value).ToList();
        for (var i = 0; i < words.Count; i += 2)
        {
            yield return string.Concat(words.Skip(i).Take(2));
        }
    }

    private static List<(string Frame, bool IsContent)> OpenAiFrames(string model, string content, int outputTokens)
    {
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..29];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string Chunk(string delta, string finish, string usage = "null") =>
            $"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{Json(model)},\"system_fingerprint\":\"fp_chaos\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":{usage}}}\n\n";
        var frames = new List<(string, bool)> { (Chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null"), false) };
        frames.AddRange(Deltas(content).Select(d => (Chunk($"{{\"content\":{Json(d)}}}", "null"), true)));
        frames.Add((Chunk("{}", "\"stop\""), false));
        frames.Add(($"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{Json(model)},\"choices\":[],\"usage\":{{\"prompt_tokens\":24,\"completion_tokens\":{outputTokens},\"total_tokens\":{24 + outputTokens}}}}}\n\n", false));
        frames.Add(("data: [DONE]\n\n", false));
        return frames;
    }

    private static List<(string Frame, bool IsContent)> AnthropicFrames(string model, string content, int outputTokens)
    {
        static string Event(string type, string data) => $"event: {type}\ndata: {data}\n\n";
        var frames = new List<(string, bool)>
        {
            (Event("message_start", $"{{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_{Guid.NewGuid():N}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{Json(model)},\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{\"input_tokens\":24,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}}}}"), false),
            (Event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"), false),
            (Event("ping", "{\"type\": \"ping\"}"), false),
        };
        frames.AddRange(Deltas(content).Select(d => (Event("content_block_delta", $"{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{Json(d)}}}}}"), true)));
        frames.Add((Event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"), false));
        frames.Add((Event("message_delta", $"{{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{outputTokens}}}}}"), false));
        frames.Add((Event("message_stop", "{\"type\":\"message_stop\"}"), false));
        return frames;
    }

    private static string OpenAiBody(string model, string content, int outputTokens) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"id\":\"chatcmpl-{Guid.NewGuid():N}\",\"object\":\"chat.completion\",\"created\":{DateTimeOffset.UtcNow.ToUnixTimeSeconds()},\"model\":{Json(model)},\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":{Json(content)},\"refusal\":null}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":24,\"completion_tokens\":{outputTokens},\"total_tokens\":{24 + outputTokens}}},\"system_fingerprint\":\"fp_chaos\"}}");

    private static string AnthropicBody(string model, string content, int outputTokens) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"id\":\"msg_{Guid.NewGuid():N}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{Json(model)},\"content\":[{{\"type\":\"text\",\"text\":{Json(content)}}}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{{\"input_tokens\":24,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":{outputTokens}}}}}");

    private string Error(int status, string message) => Protocol == OpenAiProtocol
        ? $"{{\"error\":{{\"message\":{Json(message)},\"type\":\"{(status >= 500 ? "server_error" : "invalid_request_error")}\",\"param\":null,\"code\":null}}}}"
        : $"{{\"type\":\"error\",\"error\":{{\"type\":\"{(status >= 500 ? "overloaded_error" : status == 401 ? "authentication_error" : "not_found_error")}\",\"message\":{Json(message)}}}}}";

    private static async Task WriteJsonAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static string Json(string value) => JsonSerializer.Serialize(value);

    [GeneratedRegex(@"chaos-\d+")]
    private static partial Regex MarkerRegex();

    [GeneratedRegex(@"\S+\s*|\s+")]
    private static partial Regex WordRegex();
}
