using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Gemini;

/// <summary>
/// Google Gemini API: <c>POST {base}/v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, key in <c>x-goog-api-key</c> (never in the URL, which
/// ends up in logs). System turns go to <c>systemInstruction</c>. The stream has no terminator:
/// the last chunk carries <c>finishReason</c> and <c>usageMetadata</c>. The request body (tools,
/// function calls and responses, images, sampling and response format) is written by
/// <see cref="GeminiRequestBody"/>; <c>functionCall</c> parts come back as tool calls.
/// </summary>
internal sealed class GeminiClient(ProviderClientSettings settings, TokenCounter tokens, TimeProvider time, ILogger<GeminiClient> logger, HttpMessageHandler? handler = null)
    : HttpProviderClient(settings, tokens, time, logger, handler)
{
    public const string Protocol = "gemini";

    public override async Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var response = await SendAsync(Build(request, stream: false), GeminiJsonContext.Default.GenerateContentResponse, request.Model.Id, cancellationToken);
        ThrowIfPromptBlocked(response);
        var candidate = response.Candidates is { Count: > 0 } candidates ? candidates[0] : null;
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        AppendText(candidate, content);
        AddCalls(candidate, calls);
        var finish = MapFinish(candidate?.FinishReason, calls.Count);
        if (finish == FinishReason.ContentFilter && content.Length == 0 && calls.Count == 0)
        {
            throw ContentFiltered(candidate?.FinishReason ?? "SAFETY");
        }

        if (candidate is null)
        {
            throw new ProviderException(Provider, ProviderErrorClass.MalformedStream, "The response has no candidates.");
        }

        ThrowIfMalformedCall(candidate.FinishReason);
        var text = content.ToString();
        return new ProviderResponse(text, finish == FinishReason.Unspecified ? FinishReason.Stop : finish,
            Usage(response.UsageMetadata, request, text + string.Concat(calls.Select(c => c.ArgumentsJson))), response.ModelVersion ?? request.Model.Id)
        {
            ToolCalls = calls,
        };
    }

    public override async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        GeminiUsage? usage = null;
        string? finishReason = null;
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        var bad = new BadEventCounter();
        await foreach (var item in SendStreamAsync(Build(request, stream: true), request.Model.Id, cancellationToken))
        {
            if (ParseEventOrSkip(item, GeminiJsonContext.Default.GenerateContentResponse, bad, request.Model.Id) is not { } chunk)
            {
                continue;
            }

            if (chunk.Error is { ValueKind: System.Text.Json.JsonValueKind.Object })
            {
                throw StreamError(System.Text.Encoding.UTF8.GetString(item.Data));
            }

            ThrowIfPromptBlocked(chunk);
            usage = chunk.UsageMetadata ?? usage;
            var candidate = chunk.Candidates is { Count: > 0 } candidates ? candidates[0] : null;
            var before = content.Length;
            AppendText(candidate, content);
            if (content.Length > before)
            {
                yield return ProviderStreamEvent.Content(content.ToString(before, content.Length - before));
            }

            // Gemini streams each function call whole, in one part: one delta with id, name and all arguments.
            var first = calls.Count;
            AddCalls(candidate, calls);
            for (var i = first; i < calls.Count; i++)
            {
                yield return ProviderStreamEvent.ToolCallPart(new ToolCallDelta(i, calls[i].Id, calls[i].Name, calls[i].ArgumentsJson));
            }

            finishReason = candidate?.FinishReason ?? finishReason;
            if (finishReason is not null)
            {
                // The chunk with finishReason is the last (with full usage): finish now, not at EOF.
                break;
            }
        }

        if (finishReason is null)
        {
            throw StreamCut("no chunk carried a finishReason.");
        }

        var finish = MapFinish(finishReason, calls.Count);
        if (finish == FinishReason.ContentFilter && content.Length == 0 && calls.Count == 0)
        {
            throw ContentFiltered(finishReason);
        }

        ThrowIfMalformedCall(finishReason);
        yield return ProviderStreamEvent.Final(finish == FinishReason.Unspecified ? FinishReason.Stop : finish,
            Usage(usage, request, content.ToString() + string.Concat(calls.Select(c => c.ArgumentsJson))));
    }

    /// <summary><c>GET /v1beta/models</c>: Gemini models.list.</summary>
    protected override string ModelsPath => "v1beta/models";

    protected override void AddHeaders(HttpRequestMessage request)
    {
        if (!string.IsNullOrEmpty(Settings.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("x-goog-api-key", Settings.ApiKey);
        }
    }

    private HttpRequestMessage Build(ProviderRequest request, bool stream) =>
        Post($"v1beta/models/{Uri.EscapeDataString(request.Model.Id)}:{(stream ? "streamGenerateContent?alt=sse" : "generateContent")}",
            json => GeminiRequestBody.Write(json, request, Provider));

    /// <summary>
    /// MALFORMED_FUNCTION_CALL: the model wrote a call Gemini could not parse. Nothing usable came back;
    /// another attempt usually succeeds, so it is a retryable failure rather than an empty answer.
    /// </summary>
    private void ThrowIfMalformedCall(string? finishReason)
    {
        if (finishReason is "MALFORMED_FUNCTION_CALL" or "UNEXPECTED_TOOL_CALL")
        {
            throw new ProviderException(Provider, ProviderErrorClass.MalformedStream, $"The model produced an invalid function call ({finishReason}).") { ProviderCode = finishReason };
        }
    }

    /// <summary>
    /// The candidate's functionCall parts as tool calls. The generateContent API gives calls no id, so one is
    /// made from the call's position and content (<c>call_&lt;n&gt;_&lt;hash&gt;</c>): the same answer always
    /// gets the same ids, which a cached or retried answer relies on, and the tool result sent back later
    /// finds its function name through it.
    /// </summary>
    private static void AddCalls(GeminiCandidate? candidate, List<ToolCall> calls)
    {
        foreach (var part in candidate?.Content?.Parts ?? [])
        {
            if (part.FunctionCall is not { } call)
            {
                continue;
            }

            var name = call.Name ?? "";
            var args = call.Args is { ValueKind: System.Text.Json.JsonValueKind.Object } value ? value.GetRawText() : "{}";
            calls.Add(new ToolCall(call.Id is { Length: > 0 } id ? id : SynthesizeId(calls.Count, name, args), name, args));
        }
    }

    internal static string SynthesizeId(int index, string name, string args)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name + "\n" + args));
        return $"call_{index}_{Convert.ToHexStringLower(hash.AsSpan(0, 6))}";
    }

    private void ThrowIfPromptBlocked(GenerateContentResponse response)
    {
        if (response.PromptFeedback?.BlockReason is { Length: > 0 } reason && reason != "BLOCK_REASON_UNSPECIFIED")
        {
            throw ContentFiltered(reason);
        }
    }

    private static void AppendText(GeminiCandidate? candidate, StringBuilder content)
    {
        foreach (var part in candidate?.Content?.Parts ?? [])
        {
            if (part.Text is not null && part.Thought != true)
            {
                content.Append(part.Text);
            }
        }
    }

    /// <summary>promptTokenCount includes cachedContentTokenCount, as our <see cref="TokenUsage.InputTokens"/> does.</summary>
    private TokenUsage Usage(GeminiUsage? usage, ProviderRequest request, string content)
    {
        long? output = usage?.CandidatesTokenCount is null && usage?.ThoughtsTokenCount is null
            ? null
            : (usage.CandidatesTokenCount ?? 0) + (usage.ThoughtsTokenCount ?? 0);
        var result = UsageOrEstimate(usage?.PromptTokenCount, output, request, content);
        return usage?.PromptTokenCount is not null && usage.CachedContentTokenCount is { } cached
            ? result with { CachedInputTokens = cached }
            : result;
    }

    /// <summary>Gemini ends a turn that calls functions with STOP; with calls in it, that is a tool-calls finish.</summary>
    private static FinishReason MapFinish(string? reason, int calls) =>
        MapFinish(reason) is FinishReason.Stop && calls > 0 ? FinishReason.ToolCalls : MapFinish(reason);

    private static FinishReason MapFinish(string? reason) => reason switch
    {
        null or "" or "FINISH_REASON_UNSPECIFIED" => FinishReason.Unspecified,
        "MAX_TOKENS" => FinishReason.Length,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
