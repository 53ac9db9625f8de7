using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Clients;

/// <summary>
/// REST calls with their correctness checks: the transcoded POST /v1/execute and
/// /v1/execute:stream (newline-delimited JSON), and the OpenAI-compatible chat completions,
/// plain and streaming (server-sent events ending in [DONE]).
/// </summary>
public static class RestCalls
{
    public static HttpClient Client(Uri address)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            MaxConnectionsPerServer = int.MaxValue,
        })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(120),
        };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", LoadCredentials.Key);
        return client;
    }

    public static string ExecuteBody(string prompt, int maxTokens) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["taskType"] = "TASK_TYPE_CODE_GENERATION", ["prompt"] = prompt, ["maxTokens"] = maxTokens });

    public static string ChatBody(string model, string prompt, int maxTokens, bool stream) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = model,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
            ["max_tokens"] = maxTokens,
            ["stream"] = stream,
        });

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The HTTP status of one POST, to tell a missing endpoint (404) from a working one.</summary>
    public static async Task<HttpStatusCode> ProbeAsync(HttpClient http, string path, string body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync(path, Json(body), cancellationToken);
        return response.StatusCode;
    }

    public static async Task<CallResult> ExecuteAsync(HttpClient http, string body, CallContext context, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync("/v1/execute", Json(body), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return CallResult.Fail($"HTTP_{(int)response.StatusCode}", Trim(text));
        }

        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        if (Str(root, "status") != "EXECUTION_STATUS_COMPLETED")
        {
            return CallResult.Fail("NOT_COMPLETED", Trim(text));
        }

        if (string.IsNullOrEmpty(Str(root, "content")))
        {
            return CallResult.Fail("EMPTY_CONTENT", "200 with no content");
        }

        context.Count(root.TryGetProperty("cacheHit", out var hit) && hit.ValueKind == JsonValueKind.True ? "cache_hit=true" : "cache_hit=false");
        return CallResult.Success;
    }

    /// <summary>Transcoded server streaming: one JSON object per line: started, deltas, final.</summary>
    public static async Task<CallResult> ExecuteStreamAsync(HttpClient http, string body, CallContext context, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/execute:stream") { Content = Json(body) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return CallResult.Fail($"HTTP_{(int)response.StatusCode}", Trim(await response.Content.ReadAsStringAsync(cancellationToken)));
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        bool started = false, final = false;
        long chars = 0, last = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.TryGetProperty("started", out _))
            {
                started = true;
            }
            else if (root.TryGetProperty("delta", out var delta))
            {
                var now = Stopwatch.GetTimestamp();
                context.Record(last == 0 ? "ttft" : "inter_token_gap", Stopwatch.GetElapsedTime(last == 0 ? context.ScheduledTimestamp : last, now));
                last = now;
                chars += Str(delta, "text")?.Length ?? 0;
            }
            else if (root.TryGetProperty("final", out var f))
            {
                final = true;
                if (Str(f, "status") != "EXECUTION_STATUS_COMPLETED")
                {
                    return CallResult.Fail("NOT_COMPLETED", Trim(line));
                }
            }
            else
            {
                // An error status written into the stream (transcoding ends a failed stream this way).
                return CallResult.Fail("STREAM_ERROR", Trim(line));
            }
        }

        return !started || !final ? CallResult.Fail("NO_FINAL", "the stream ended without started/final")
            : chars == 0 ? CallResult.Fail("EMPTY_CONTENT", "no deltas")
            : CallResult.Success;
    }

    public static async Task<CallResult> ChatAsync(HttpClient http, string path, string body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync(path, Json(body), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return CallResult.Fail($"HTTP_{(int)response.StatusCode}", Trim(text));
        }

        using var json = JsonDocument.Parse(text);
        if (!json.RootElement.TryGetProperty("choices", out var choices) || choices.GetArrayLength() == 0)
        {
            return CallResult.Fail("NO_CHOICES", Trim(text));
        }

        var choice = choices[0];
        var content = choice.TryGetProperty("message", out var message) ? Str(message, "content") : null;
        if (string.IsNullOrEmpty(content))
        {
            return CallResult.Fail("EMPTY_CONTENT", Trim(text));
        }

        return string.IsNullOrEmpty(Str(choice, "finish_reason")) ? CallResult.Fail("NO_FINISH_REASON", Trim(text)) : CallResult.Success;
    }

    /// <summary>OpenAI streaming: `data: {chunk}` events, one with a finish_reason, then `data: [DONE]`.</summary>
    public static async Task<CallResult> ChatStreamAsync(HttpClient http, string path, string body, CallContext context, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return CallResult.Fail($"HTTP_{(int)response.StatusCode}", Trim(await response.Content.ReadAsStringAsync(cancellationToken)));
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        bool done = false, finished = false;
        long chars = 0, last = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line[5..].Trim();
            if (data == "[DONE]")
            {
                done = true;
                break;
            }

            using var json = JsonDocument.Parse(data);
            if (json.RootElement.TryGetProperty("error", out _))
            {
                return CallResult.Fail("STREAM_ERROR", Trim(data));
            }

            if (!json.RootElement.TryGetProperty("choices", out var choices) || choices.GetArrayLength() == 0)
            {
                continue;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && Str(delta, "content") is { Length: > 0 } piece)
            {
                var now = Stopwatch.GetTimestamp();
                context.Record(last == 0 ? "ttft" : "inter_token_gap", Stopwatch.GetElapsedTime(last == 0 ? context.ScheduledTimestamp : last, now));
                last = now;
                chars += piece.Length;
            }

            if (!string.IsNullOrEmpty(Str(choice, "finish_reason")))
            {
                finished = true;
            }
        }

        return !done ? CallResult.Fail("NO_DONE", "the stream ended without data: [DONE]")
            : !finished ? CallResult.Fail("NO_FINISH_REASON", "no chunk carried a finish_reason")
            : chars == 0 ? CallResult.Fail("EMPTY_CONTENT", "no content deltas")
            : CallResult.Success;
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Trim(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
