using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>
/// Google Gemini API (<c>POST /v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, key in <c>x-goog-api-key</c>), as Google sends it:
/// GenerateContentResponse bodies, SSE frames with CRLF line endings and no terminator (the last
/// chunk has finishReason and full usageMetadata), errors as
/// <c>{"error":{"code","message","status","details"}}</c>; a bad key is a 400 with reason API_KEY_INVALID.
/// </summary>
public sealed class FakeGeminiServer(string? apiKey = null)
    : FakeProviderServer("google", apiKey ?? "AIza" + Guid.NewGuid().ToString("N"))
{
    public static async Task<FakeGeminiServer> StartNewAsync(string? apiKey = null)
    {
        var server = new FakeGeminiServer(apiKey);
        await server.StartAsync();
        return server;
    }

    public override Uri BaseUrl => Root;

    protected override bool IsEndpoint(HttpRequest request) =>
        request.Path.StartsWithSegments("/v1beta/models", StringComparison.Ordinal)
        && (request.Path.Value!.EndsWith(":generateContent", StringComparison.Ordinal)
            || (request.Path.Value!.EndsWith(":streamGenerateContent", StringComparison.Ordinal) && request.Query["alt"] == "sse"));

    protected override bool IsModelListEndpoint(HttpRequest request) => request.Path == "/v1beta/models";

    /// <summary><c>{"models":[{"name":"models/…","displayName","inputTokenLimit","outputTokenLimit","supportedGenerationMethods"}]}</c>.</summary>
    protected override string ModelListBody(IReadOnlyList<string> models) =>
        "{\"models\":[" + string.Join(',', models.Select(m =>
            $"{{\"name\":{Json("models/" + m)},\"displayName\":{Json(m)},\"inputTokenLimit\":1048576,\"outputTokenLimit\":65536,\"supportedGenerationMethods\":[\"generateContent\",\"countTokens\"]}}")) + "]}";

    protected override bool IsAuthorized(HttpRequest request) => request.Headers["x-goog-api-key"].ToString() == ApiKey;

    protected override bool IsStreamRequest(HttpRequest request, JsonElement body) =>
        request.Path.Value?.EndsWith(":streamGenerateContent", StringComparison.Ordinal) == true;

    protected override string ModelOf(HttpRequest request, JsonElement body)
    {
        var path = Uri.UnescapeDataString(request.Path.Value ?? "");
        var start = path.IndexOf("/models/", StringComparison.Ordinal);
        var colon = path.LastIndexOf(':');
        return start >= 0 && colon > start ? path[(start + 8)..colon] : "";
    }

    protected override void AddProviderHeaders(HttpResponse response)
    {
        response.Headers["server"] = "scaffolding on HTTPServer2";
        response.Headers["x-content-type-options"] = "nosniff";
        response.Headers["vary"] = "Origin, X-Origin, Referer";
    }

    protected override string JsonContentType => "application/json; charset=UTF-8";

    protected override (int Status, string Body) ErrorFor(FakeError kind, FakeRequest request) => kind switch
    {
        FakeError.RateLimited => (429, Error(429, "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.", "RESOURCE_EXHAUSTED",
            """[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]""")),
        FakeError.ServerError => (500, Error(500, "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "INTERNAL", null)),
        FakeError.Overloaded => (503, Error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE", null)),
        FakeError.Unauthorized => (400, Error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
            """[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]""")),
        FakeError.ContextLengthExceeded => (400, Error(400, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "INVALID_ARGUMENT", null)),
        _ => (400, Error(400, "* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.\n", "INVALID_ARGUMENT", null)),
    };

    protected override string UnaryBody(FakeRequest request, FakeResponse response, string content) =>
        Chunk(request, response, content, response.ToolCalls, final: true, pretty: true);

    /// <summary>
    /// Text in chunks of about two words, then each function call whole in a chunk of its own (Gemini never
    /// splits a call's args); the last chunk carries finishReason and the full usage.
    /// </summary>
    protected override IReadOnlyList<SseFrame> StreamFrames(FakeRequest request, FakeResponse response, string content)
    {
        var pieces = Deltas(content).Select(d => (Text: d, Calls: (IReadOnlyList<FakeToolCall>)[])).ToList();
        pieces.AddRange(response.ToolCalls.Select(c => (Text: "", Calls: (IReadOnlyList<FakeToolCall>)[c])));
        var frames = new List<SseFrame>();
        for (var i = 0; i < pieces.Count; i++)
        {
            // The last content chunk carries finishReason and the full usage; Gemini has no terminator.
            var last = i == pieces.Count - 1;
            frames.Add(new SseFrame($"data: {Chunk(request, response, pieces[i].Text, pieces[i].Calls, final: last, pretty: false)}\r\n\r\n", IsContent: true));
        }

        if (pieces.Count == 0)
        {
            frames.Add(new SseFrame($"data: {Chunk(request, response, "", [], final: true, pretty: false)}\r\n\r\n"));
        }

        return frames;
    }

    protected override string MalformedFrame => "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"oo\r\n\r\n";

    protected override string InStreamErrorFrame =>
        "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";

    protected override string StreamContentType => "text/event-stream";

    private static string Chunk(FakeRequest request, FakeResponse response, string text, IReadOnlyList<FakeToolCall> calls, bool final, bool pretty)
    {
        var parts = new List<string>();
        if (text.Length > 0 || calls.Count == 0)
        {
            parts.Add($"{{\"text\":{Json(text)}}}");
        }

        // Gemini 2.5+ attaches a thought signature to a turn's first function call.
        parts.AddRange(calls.Select((c, i) => $"{{\"functionCall\":{{\"name\":{Json(c.Name)},\"args\":{c.ArgumentsJson}}}{(i == 0 ? ",\"thoughtSignature\":\"CiQBcsjafake\"" : "")}}}"));
        var cached = response.CachedInputTokens > 0 ? $",\"cachedContentTokenCount\":{response.CachedInputTokens}" : "";
        var filtered = response.Behavior == FakeBehavior.ContentFiltered;
        var finish = !final ? "" : filtered ? ",\"finishReason\":\"SAFETY\"" : response.Truncated ? ",\"finishReason\":\"MAX_TOKENS\"" : ",\"finishReason\":\"STOP\"";
        var safety = filtered ? ",\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":\"HIGH\",\"blocked\":true}]" : "";
        var candidateContent = filtered ? "" : $"\"content\":{{\"parts\":[{string.Join(',', parts)}],\"role\":\"model\"}},";
        var usage = !response.ReportUsage ? "" : final
            ? $",\"usageMetadata\":{{\"promptTokenCount\":{response.InputTokens},\"candidatesTokenCount\":{response.OutputTokens},\"totalTokenCount\":{response.InputTokens + response.OutputTokens}{cached},\"promptTokensDetails\":[{{\"modality\":\"TEXT\",\"tokenCount\":{response.InputTokens}}}]}}"
            : $",\"usageMetadata\":{{\"promptTokenCount\":{response.InputTokens},\"totalTokenCount\":{response.InputTokens},\"promptTokensDetails\":[{{\"modality\":\"TEXT\",\"tokenCount\":{response.InputTokens}}}]}}";
        var body = $"{{\"candidates\":[{{{candidateContent}\"index\":0{finish}{safety}}}]{usage},\"modelVersion\":{Json(request.Model)},\"responseId\":\"{Id(22)}\"}}";
        return pretty ? JsonSerializer.Serialize(JsonDocument.Parse(body).RootElement, PrettyOptions) : body;
    }

    private static readonly JsonSerializerOptions PrettyOptions = new() { WriteIndented = true };

    private static string Error(int code, string message, string status, string? details) =>
        $"{{\n  \"error\": {{\n    \"code\": {code},\n    \"message\": {Json(message)},\n    \"status\": \"{status}\"{(details is null ? "" : ",\n    \"details\": " + details)}\n  }}\n}}\n";
}
