using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Anthropic;

/// <summary>
/// Anthropic Messages (<c>POST {base}/v1/messages</c>, headers <c>x-api-key</c> and
/// <c>anthropic-version</c>). System turns are hoisted into the top-level <c>system</c> field;
/// <c>max_tokens</c> is required and clamped to the model's limit. Streams end with
/// <c>message_stop</c>; <c>ping</c> is a keep-alive and an <c>error</c> event fails the stream.
/// </summary>
internal sealed class AnthropicClient(ProviderClientSettings settings, TokenCounter tokens, TimeProvider time, ILogger<AnthropicClient> logger, HttpMessageHandler? handler = null)
    : HttpProviderClient(settings, tokens, time, logger, handler)
{
    public const string Protocol = "anthropic";

    /// <summary>Used when the catalog gives no output limit. Defaults to 4096.</summary>
    private const int DefaultMaxTokens = 4096;

    public override async Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var message = await SendAsync(Build(request, stream: false), AnthropicJsonContext.Default.AnthropicMessage, request.Model.Id, cancellationToken);
        if (string.Equals(message.Type, "error", StringComparison.Ordinal))
        {
            // Classified like the same error sent in a stream (overloaded, rate limited, invalid request …).
            throw StreamError(message.Error is { ValueKind: System.Text.Json.JsonValueKind.Object } error
                ? "{\"type\":\"error\",\"error\":" + error.GetRawText() + "}"
                : "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The provider answered 200 with an error body.\"}}");
        }

        var content = new StringBuilder();
        foreach (var block in message.Content ?? [])
        {
            if (block.Type == "text" && block.Text is not null)
            {
                content.Append(block.Text);
            }
        }

        var finish = MapStop(message.StopReason);
        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(message.StopReason ?? "refusal");
        }

        var text = content.ToString();
        return new ProviderResponse(text, finish == FinishReason.Unspecified ? FinishReason.Stop : finish, Usage(message.Usage, null, request, text), message.Model ?? request.Model.Id);
    }

    public override async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        AnthropicUsage? startUsage = null;
        AnthropicUsage? deltaUsage = null;
        string? stopReason = null;
        var started = false;
        var stopped = false;
        var content = new StringBuilder();
        var bad = new BadEventCounter();

        await foreach (var item in SendStreamAsync(Build(request, stream: true), request.Model.Id, cancellationToken))
        {
            if (item.EventType == "ping")
            {
                continue;
            }

            if (ParseEventOrSkip(item, AnthropicJsonContext.Default.AnthropicStreamEvent, bad, request.Model.Id) is not { } data)
            {
                continue;
            }

            switch (data.Type ?? item.EventType)
            {
                case "error":
                    throw StreamError(Encoding.UTF8.GetString(item.Data));
                case "message_start":
                    started = true;
                    startUsage = data.Message?.Usage;
                    break;
                case "content_block_delta":
                    if (data.Delta is { Type: "text_delta", Text: { Length: > 0 } text })
                    {
                        content.Append(text);
                        yield return ProviderStreamEvent.Content(text);
                    }

                    break;
                case "message_delta":
                    stopReason = data.Delta?.StopReason ?? stopReason;
                    deltaUsage = data.Usage ?? deltaUsage;
                    break;
                case "message_stop":
                    stopped = true;
                    break;
                default:
                    // content_block_start/stop, ping, and event types added later carry nothing we need.
                    break;
            }

            // message_delta with a stop_reason is the last event with content or usage; message_stop
            // only follows it. Finishing here does not wait on a terminator that may never come.
            if (stopped || stopReason is not null)
            {
                break;
            }
        }

        if (!started || stopReason is null)
        {
            throw StreamCut(started ? "no message_delta with a stop_reason arrived." : "no message_start arrived.");
        }

        // A complete message_delta (stop_reason + usage) without message_stop is a finished answer.
        var finish = MapStop(stopReason);
        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(stopReason);
        }

        yield return ProviderStreamEvent.Final(finish, Usage(startUsage, deltaUsage, request, content.ToString()));
    }

    /// <summary><c>GET /v1/models</c>: Anthropic List Models.</summary>
    protected override string ModelsPath => "v1/models";

    protected override void AddHeaders(HttpRequestMessage request)
    {
        if (!string.IsNullOrEmpty(Settings.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("x-api-key", Settings.ApiKey);
        }

        request.Headers.TryAddWithoutValidation("anthropic-version", Settings.AnthropicVersion);
    }

    /// <summary><c>max_tokens</c> within 1 and the model's output limit.</summary>
    public static int ClampMaxTokens(int requested, CatalogModel model)
    {
        var limit = model.MaxOutputTokens > 0 ? model.MaxOutputTokens : DefaultMaxTokens;
        return Math.Clamp(requested > 0 ? requested : limit, 1, limit);
    }

    private HttpRequestMessage Build(ProviderRequest request, bool stream) => Post("v1/messages", json =>
    {
        json.WriteStartObject();
        json.WriteString("model", request.Model.Id);
        json.WriteNumber("max_tokens", ClampMaxTokens(request.MaxTokens, request.Model));
        var system = string.Join("\n\n", request.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Content));
        if (system.Length > 0)
        {
            json.WriteString("system", system);
        }

        json.WriteStartArray("messages");
        foreach (var message in request.Messages)
        {
            if (message.Role == ChatRole.System)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("role", message.Role == ChatRole.Assistant ? "assistant" : "user");
            json.WriteString("content", message.Content);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (request.Temperature is { } temperature && !request.Model.Reasoning)
        {
            // Anthropic's range is 0–1; the API's is 0–2.
            json.WriteNumber("temperature", Math.Clamp(temperature, 0, 1));
        }

        if (stream)
        {
            json.WriteBoolean("stream", true);
        }

        json.WriteEndObject();
    });

    private TokenUsage Usage(AnthropicUsage? start, AnthropicUsage? delta, ProviderRequest request, string content)
    {
        long? input = null;
        foreach (var usage in (ReadOnlySpan<AnthropicUsage?>)[start, delta])
        {
            if (usage?.InputTokens is { } tokens)
            {
                // Cached prompt tokens are billed input too; the delta's counts are cumulative.
                input = tokens + (usage.CacheCreationInputTokens ?? 0) + (usage.CacheReadInputTokens ?? 0);
            }
        }

        var output = delta?.OutputTokens ?? start?.OutputTokens;
        return UsageOrEstimate(input, output, request, content);
    }

    private static FinishReason MapStop(string? reason) => reason switch
    {
        null => FinishReason.Unspecified,
        "max_tokens" or "model_context_window_exceeded" => FinishReason.Length,
        "refusal" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
