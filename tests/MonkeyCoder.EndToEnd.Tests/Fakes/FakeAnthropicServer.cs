using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>
/// Anthropic Messages (<c>POST /v1/messages</c>, headers <c>x-api-key</c> and
/// <c>anthropic-version</c>), as Anthropic documents and sends it: named SSE events
/// (<c>event: message_start</c> … <c>message_stop</c>, with a <c>ping</c>), usage split between
/// message_start (input) and message_delta (output), errors as
/// <c>{"type":"error","error":{"type","message"}}</c> with 529 for overloaded.
/// </summary>
public sealed class FakeAnthropicServer(string? apiKey = null)
    : FakeProviderServer("anthropic", apiKey ?? "sk-ant-api03-" + Guid.NewGuid().ToString("N"))
{
    public static async Task<FakeAnthropicServer> StartNewAsync(string? apiKey = null)
    {
        var server = new FakeAnthropicServer(apiKey);
        await server.StartAsync();
        return server;
    }

    public override Uri BaseUrl => Root;

    protected override bool IsEndpoint(HttpRequest request) => request.Path == "/v1/messages";

    protected override bool IsModelListEndpoint(HttpRequest request) => request.Path == "/v1/models";

    /// <summary><c>{"data":[{"type":"model","id","display_name","created_at"}],"has_more","first_id","last_id"}</c>.</summary>
    protected override string ModelListBody(IReadOnlyList<string> models) =>
        "{\"data\":[" + string.Join(',', models.Select(m =>
            $"{{\"type\":\"model\",\"id\":{Json(m)},\"display_name\":{Json(m)},\"created_at\":\"2026-01-01T00:00:00Z\"}}"))
        + $"],\"has_more\":false,\"first_id\":{Json(models[0])},\"last_id\":{Json(models[^1])}}}";

    protected override bool IsAuthorized(HttpRequest request) =>
        request.Headers["x-api-key"].ToString() == ApiKey && request.Headers.ContainsKey("anthropic-version");

    protected override bool IsStreamRequest(HttpRequest request, JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

    protected override string ModelOf(HttpRequest request, JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("model", out var model) ? model.GetString() ?? "" : "";

    protected override void AddProviderHeaders(HttpResponse response)
    {
        response.Headers["request-id"] = "req_" + Id(24);
        response.Headers["anthropic-organization-id"] = "00000000-0000-0000-0000-000000000000";
    }

    protected override (int Status, string Body) ErrorFor(FakeError kind, FakeRequest request) => kind switch
    {
        FakeError.RateLimited => (429, Error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.")),
        FakeError.ServerError => (500, Error("api_error", "Internal server error")),
        FakeError.Overloaded => (529, Error("overloaded_error", "Overloaded")),
        FakeError.Unauthorized => (401, Error("authentication_error", "invalid x-api-key")),
        FakeError.ContextLengthExceeded => (400, Error("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum")),
        FakeError.PrefillRejected => (400, Error("invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message.")),
        _ => (400, Error("invalid_request_error", "max_tokens: Field required")),
    };

    protected override string UnaryBody(FakeRequest request, FakeResponse response, string content)
    {
        var blocks = new List<string>();
        if (content.Length > 0)
        {
            blocks.Add($"{{\"type\":\"text\",\"text\":{Json(content)}}}");
        }

        foreach (var call in response.ToolCalls)
        {
            blocks.Add($"{{\"type\":\"tool_use\",\"id\":{Json(ToolId(call))},\"name\":{Json(call.Name)},\"input\":{call.ArgumentsJson}}}");
        }

        return $$"""
            {"id":"msg_{{Id(24)}}","type":"message","role":"assistant","model":{{Json(request.Model)}},"content":[{{string.Join(',', blocks)}}],"stop_reason":"{{StopReason(response)}}","stop_sequence":null,"usage":{{Usage(response, response.OutputTokens)}}}
            """;
    }

    /// <summary>
    /// Anthropic's event sequence: message_start, per content block (text first, then each tool_use)
    /// content_block_start / deltas / content_block_stop, message_delta (stop_reason, usage), message_stop.
    /// Tool arguments stream as several input_json_delta events, the first with an empty partial_json.
    /// </summary>
    protected override IReadOnlyList<SseFrame> StreamFrames(FakeRequest request, FakeResponse response, string content)
    {
        var frames = new List<SseFrame>
        {
            Event("message_start", $"{{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_{Id(24)}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{Json(request.Model)},\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{Usage(response, 1)}}}}}"),
        };
        var index = 0;
        if (content.Length > 0 || response.ToolCalls.Count == 0)
        {
            frames.Add(Event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
            frames.Add(Event("ping", "{\"type\": \"ping\"}"));
            foreach (var delta in Deltas(content))
            {
                frames.Add(Event("content_block_delta", $"{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{Json(delta)}}}}}") with { IsContent = true });
            }

            frames.Add(Event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));
            index++;
        }

        foreach (var call in response.ToolCalls)
        {
            frames.Add(Event("content_block_start", $"{{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{{\"type\":\"tool_use\",\"id\":{Json(ToolId(call))},\"name\":{Json(call.Name)},\"input\":{{}}}}}}"));
            foreach (var piece in call.ArgumentPieces())
            {
                frames.Add(Event("content_block_delta", $"{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{Json(piece)}}}}}") with { IsContent = true });
            }

            frames.Add(Event("content_block_stop", $"{{\"type\":\"content_block_stop\",\"index\":{index}}}"));
            index++;
        }

        var usage = response.ReportUsage ? $",\"usage\":{{\"output_tokens\":{response.OutputTokens}}}" : "";
        frames.Add(Event("message_delta", $"{{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{StopReason(response)}\",\"stop_sequence\":null}}{usage}}}"));
        frames.Add(Event("message_stop", "{\"type\":\"message_stop\"}") with { IsTerminator = true });
        return frames;
    }

    protected override string MalformedFrame => "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"oo\n\n";

    protected override string InStreamErrorFrame => "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";

    protected override string StreamContentType => "text/event-stream; charset=utf-8";

    private static SseFrame Event(string type, string data) => new($"event: {type}\ndata: {data}\n\n");

    private static string StopReason(FakeResponse response) =>
        response.Behavior == FakeBehavior.ContentFiltered ? "refusal" : response.Truncated ? "max_tokens" : response.ToolCalls.Count > 0 ? "tool_use" : "end_turn";

    /// <summary>Anthropic's input_tokens excludes the cache reads and writes reported beside it.</summary>
    private static string Usage(FakeResponse response, int output) => response.ReportUsage
        ? $"{{\"input_tokens\":{response.InputTokens - response.CachedInputTokens - response.CacheWriteInputTokens},\"cache_creation_input_tokens\":{response.CacheWriteInputTokens},\"cache_read_input_tokens\":{response.CachedInputTokens},\"output_tokens\":{output},\"service_tier\":\"standard\"}}"
        : "{}";

    private static string ToolId(FakeToolCall call) => call.Id ?? "toolu_01" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(call.Name + call.ArgumentsJson)))[..22];

    private static string Error(string type, string message) =>
        $"{{\"type\":\"error\",\"error\":{{\"type\":\"{type}\",\"message\":{Json(message)}}},\"request_id\":\"req_{Id(24)}\"}}";
}
