using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>
/// OpenAI chat completions (<c>POST /v1/chat/completions</c>, <c>Authorization: Bearer</c>), as
/// OpenAI documents and sends it: <c>chat.completion</c> bodies, <c>chat.completion.chunk</c>
/// SSE frames ("data: …\n\n") with a usage chunk when <c>stream_options.include_usage</c> is set,
/// then <c>data: [DONE]</c>; errors as <c>{"error":{"message","type","param","code"}}</c>.
/// Also plays Groq, xAI and self-hosted OpenAI-compatible servers (pass another provider name).
/// As "xai" its errors take xAI's own shape: <c>{"code":"&lt;gRPC status sentence&gt;","error":"&lt;message&gt;"}</c>,
/// a bad key answered with HTTP 400.
/// </summary>
public sealed class FakeOpenAiServer(string providerName = "openai", string? apiKey = null)
    : FakeProviderServer(providerName, apiKey ?? "sk-test-" + Guid.NewGuid().ToString("N"))
{
    public static async Task<FakeOpenAiServer> StartNewAsync(string providerName = "openai", string? apiKey = null)
    {
        var server = new FakeOpenAiServer(providerName, apiKey);
        await server.StartAsync();
        return server;
    }

    public override Uri BaseUrl => new(Root, "/v1");

    protected override bool IsEndpoint(HttpRequest request) => request.Path == "/v1/chat/completions";

    protected override bool IsModelListEndpoint(HttpRequest request) => request.Path == "/v1/models";

    /// <summary><c>{"object":"list","data":[{"id","object":"model","created","owned_by"}]}</c>.</summary>
    /// <summary>When set, each listed model carries vLLM's <c>max_model_len</c> (its context window).</summary>
    public int? MaxModelLen { get; set; }

    protected override string ModelListBody(IReadOnlyList<string> models) =>
        "{\"object\":\"list\",\"data\":[" + string.Join(',', models.Select(m =>
            $"{{\"id\":{Json(m)},\"object\":\"model\",\"created\":1730000000,\"owned_by\":{Json(ProviderName)}"
            + (MaxModelLen is { } len ? $",\"root\":{Json(m)},\"parent\":null,\"max_model_len\":{len},\"permission\":[]" : "") + "}")) + "]}";

    /// <summary>An empty key plays a self-hosted server that takes none (and must receive none).</summary>
    protected override bool IsAuthorized(HttpRequest request) => ApiKey.Length == 0
        ? !request.Headers.ContainsKey("Authorization")
        : request.Headers.Authorization.ToString() == "Bearer " + ApiKey;

    protected override bool IsStreamRequest(HttpRequest request, JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

    protected override string ModelOf(HttpRequest request, JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("model", out var model) ? model.GetString() ?? "" : "";

    protected override void AddProviderHeaders(HttpResponse response)
    {
        response.Headers["x-request-id"] = "req_" + Id(32);
        response.Headers["openai-processing-ms"] = "187";
        response.Headers["openai-version"] = "2020-10-01";
        response.Headers["x-ratelimit-limit-requests"] = "10000";
        response.Headers["x-ratelimit-remaining-requests"] = "9999";
        response.Headers["x-ratelimit-reset-requests"] = "6ms";
    }

    protected override (int Status, string Body) ErrorFor(FakeError kind, FakeRequest request) => ProviderName == "xai" ? XaiErrorFor(kind, request) : kind switch
    {
        FakeError.RateLimited => (429, Error($"Rate limit reached for {request.Model} in organization org-fake on tokens per min (TPM): Limit 30000, Used 29870, Requested 1250. Please try again in 2.24s. Visit https://platform.openai.com/account/rate-limits to learn more.", "tokens", null, "rate_limit_exceeded")),
        FakeError.ServerError => (500, Error("The server had an error while processing your request. Sorry about that!", "server_error", null, null)),
        FakeError.Overloaded => (503, Error("The engine is currently overloaded, please try again later", "server_error", null, null)),
        FakeError.Unauthorized => (401, Error($"Incorrect API key provided: {Mask(request.Headers.GetValueOrDefault("authorization"))}. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", null, "invalid_api_key")),
        FakeError.ContextLengthExceeded => (400, Error("This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.", "invalid_request_error", "messages", "context_length_exceeded")),
        // As self-hosted OpenAI-compatible servers answer a conversation that ends with the assistant (vLLM-style wording).
        FakeError.PrefillRejected => (400, Error("Invalid request: the last message must be a user message; assistant message prefill is not supported for this model.", "invalid_request_error", "messages", null)),
        _ => (400, Error("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "invalid_request_error", "max_tokens", "unsupported_parameter")),
    };

    private static (int Status, string Body) XaiErrorFor(FakeError kind, FakeRequest request) => kind switch
    {
        FakeError.RateLimited => (429, XaiError("Some resource has been exhausted", $"Your team has reached its rate limit for {request.Model}. Please try again later.")),
        FakeError.ServerError => (500, XaiError("Internal error", "The service encountered an internal error.")),
        FakeError.Overloaded => (503, XaiError("The service is currently unavailable", "The model is currently overloaded. Please try again later.")),
        FakeError.Unauthorized => (400, XaiError("Client specified an invalid argument", $"Incorrect API key provided: {Mask(request.Headers.GetValueOrDefault("authorization"))}. You can obtain an API key from https://console.x.ai.")),
        FakeError.ContextLengthExceeded => (400, XaiError("Client specified an invalid argument", "This model's maximum prompt length is 131072 but the request contains 140213 tokens.")),
        _ => (400, XaiError("Client specified an invalid argument", "Argument not supported on this model: max_tokens")),
    };

    private static string XaiError(string code, string message) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["code"] = code, ["error"] = message });

    protected override string UnaryBody(FakeRequest request, FakeResponse response, string content)
    {
        var finish = FinishReason(response);
        var usage = response.ReportUsage ? Usage(response) : "null";
        return $$"""
            {
              "id": "chatcmpl-{{Id(29)}}",
              "object": "chat.completion",
              "created": {{Unix(DateTimeOffset.UtcNow)}},
              "model": {{Json(request.Model)}},
              "choices": [
                {
                  "index": 0,
                  "message": {
                    "role": "assistant",
                    "content": {{(response.Behavior == FakeBehavior.ContentFiltered || (content.Length == 0 && response.ToolCalls.Count > 0) ? "null" : Json(content))}},
                    "refusal": null,{{UnaryToolCalls(response)}}
                    "annotations": []
                  },
                  "logprobs": null,
                  "finish_reason": "{{finish}}"
                }
              ],
              "usage": {{usage}},
              "service_tier": "default",
              "system_fingerprint": "fp_fake"
            }
            """;
    }

    protected override IReadOnlyList<SseFrame> StreamFrames(FakeRequest request, FakeResponse response, string content)
    {
        var id = "chatcmpl-" + Id(29);
        var created = Unix(DateTimeOffset.UtcNow);
        var includeUsage = response.ReportUsage && request.Json.TryGetProperty("stream_options", out var options)
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;
        var usageField = includeUsage ? ",\"usage\":null" : "";
        string Chunk(string delta, string finish) =>
            $"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{Json(request.Model)},\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]{usageField}}}\n\n";

        var frames = new List<SseFrame> { new(Chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null")) };
        foreach (var delta in Deltas(content))
        {
            frames.Add(new SseFrame(Chunk($"{{\"content\":{Json(delta)}}}", "null"), IsContent: true));
        }

        // As OpenAI streams tool calls: per call a first piece with index, id, type, name and empty
        // arguments, then argument pieces with the index only; parallel calls one after the other.
        for (var i = 0; i < response.ToolCalls.Count; i++)
        {
            var call = response.ToolCalls[i];
            frames.Add(new SseFrame(Chunk($"{{\"tool_calls\":[{{\"index\":{i},\"id\":{Json(ToolId(call, i))},\"type\":\"function\",\"function\":{{\"name\":{Json(call.Name)},\"arguments\":\"\"}}}}]}}", "null"), IsContent: true));
            foreach (var piece in call.ArgumentPieces().Where(p => p.Length > 0))
            {
                frames.Add(new SseFrame(Chunk($"{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":{Json(piece)}}}}}]}}", "null"), IsContent: true));
            }
        }

        frames.Add(new SseFrame(Chunk("{}", $"\"{FinishReason(response)}\"")));
        if (includeUsage)
        {
            frames.Add(new SseFrame($"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{Json(request.Model)},\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":{Usage(response).ReplaceLineEndings("").Replace(" ", "", StringComparison.Ordinal)}}}\n\n"));
        }

        frames.Add(new SseFrame("data: [DONE]\n\n", IsTerminator: true));
        return frames;
    }

    protected override string MalformedFrame => "data: {\"id\":\"chatcmpl-broken\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oops\"\n\n";

    protected override string InStreamErrorFrame =>
        "data: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";

    protected override string StreamContentType => "text/event-stream; charset=utf-8";

    private static string FinishReason(FakeResponse response) =>
        response.Behavior == FakeBehavior.ContentFiltered ? "content_filter" : response.Truncated ? "length" : response.ToolCalls.Count > 0 ? "tool_calls" : "stop";

    /// <summary>OpenAI's call ids: "call_" and 24 characters.</summary>
    private static string ToolId(FakeToolCall call, int index) => call.Id ?? "call_" + index.ToString(CultureInfo.InvariantCulture) + Id(22);

    private static string UnaryToolCalls(FakeResponse response) => response.ToolCalls.Count == 0 ? "" :
        "\n\"tool_calls\": [" + string.Join(',', response.ToolCalls.Select((c, i) =>
            $"{{\"id\":{Json(ToolId(c, i))},\"type\":\"function\",\"function\":{{\"name\":{Json(c.Name)},\"arguments\":{Json(c.ArgumentsJson)}}}}}")) + "],";

    private static string Usage(FakeResponse response) => string.Create(CultureInfo.InvariantCulture, $$"""
        {
            "prompt_tokens": {{response.InputTokens}},
            "completion_tokens": {{response.OutputTokens}},
            "total_tokens": {{response.InputTokens + response.OutputTokens}},
            "prompt_tokens_details": { "cached_tokens": {{response.CachedInputTokens}}, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 }
          }
        """);

    private static string Error(string message, string type, string? param, string? code) =>
        $$"""
        {
          "error": {
            "message": {{Json(message)}},
            "type": {{Json(type)}},
            "param": {{(param is null ? "null" : Json(param))}},
            "code": {{(code is null ? "null" : Json(code))}}
          }
        }
        """;

    /// <summary>OpenAI echoes the first characters of a wrong key and masks the rest.</summary>
    private static string Mask(string? authorization)
    {
        var key = authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? authorization[7..] : authorization ?? "";
        return key.Length <= 8 ? "***" : string.Concat(key.AsSpan(0, 6), new string('*', 10), key.AsSpan(key.Length - 4));
    }
}
