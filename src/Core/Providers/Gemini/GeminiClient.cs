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
/// the last chunk carries <c>finishReason</c> and <c>usageMetadata</c>.
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
        AppendText(candidate, content);
        var finish = MapFinish(candidate?.FinishReason);
        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(candidate?.FinishReason ?? "SAFETY");
        }

        if (candidate is null)
        {
            throw new ProviderException(Provider, ProviderErrorClass.MalformedStream, "The response has no candidates.");
        }

        var text = content.ToString();
        return new ProviderResponse(text, finish == FinishReason.Unspecified ? FinishReason.Stop : finish, Usage(response.UsageMetadata, request, text), response.ModelVersion ?? request.Model.Id);
    }

    public override async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        GeminiUsage? usage = null;
        string? finishReason = null;
        var content = new StringBuilder();
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

        var finish = MapFinish(finishReason);
        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(finishReason);
        }

        yield return ProviderStreamEvent.Final(finish == FinishReason.Unspecified ? FinishReason.Stop : finish, Usage(usage, request, content.ToString()));
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
        Post($"v1beta/models/{Uri.EscapeDataString(request.Model.Id)}:{(stream ? "streamGenerateContent?alt=sse" : "generateContent")}", json =>
        {
            json.WriteStartObject();
            var system = string.Join("\n\n", request.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Content));
            if (system.Length > 0)
            {
                json.WriteStartObject("systemInstruction");
                json.WriteStartArray("parts");
                json.WriteStartObject();
                json.WriteString("text", system);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteStartArray("contents");
            foreach (var message in request.Messages)
            {
                if (message.Role == ChatRole.System)
                {
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("role", message.Role == ChatRole.Assistant ? "model" : "user");
                json.WriteStartArray("parts");
                json.WriteStartObject();
                json.WriteString("text", message.Content);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("generationConfig");
            json.WriteNumber("maxOutputTokens", Math.Max(1, request.MaxTokens));
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        });

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

    private TokenUsage Usage(GeminiUsage? usage, ProviderRequest request, string content)
    {
        long? output = usage?.CandidatesTokenCount is null && usage?.ThoughtsTokenCount is null
            ? null
            : (usage.CandidatesTokenCount ?? 0) + (usage.ThoughtsTokenCount ?? 0);
        return UsageOrEstimate(usage?.PromptTokenCount, output, request, content);
    }

    private static FinishReason MapFinish(string? reason) => reason switch
    {
        null or "" or "FINISH_REASON_UNSPECIFIED" => FinishReason.Unspecified,
        "MAX_TOKENS" => FinishReason.Length,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
