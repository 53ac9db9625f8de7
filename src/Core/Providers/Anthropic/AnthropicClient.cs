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
/// The request body (tools, tool results, images, cache breakpoints, sampling) is written by
/// <see cref="AnthropicRequestBody"/>; <c>tool_use</c> blocks come back as tool calls, streamed as
/// <c>content_block_start</c> (id, name) and <c>input_json_delta</c> pieces.
/// </summary>
internal sealed class AnthropicClient(ProviderClientSettings settings, TokenCounter tokens, TimeProvider time, ILogger<AnthropicClient> logger, HttpMessageHandler? handler = null)
    : HttpProviderClient(settings, tokens, time, logger, handler)
{
    public const string Protocol = "anthropic";

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
        var calls = new List<ToolCall>();
        foreach (var block in message.Content ?? [])
        {
            if (block.Type == "text" && block.Text is not null)
            {
                content.Append(block.Text);
            }
            else if (block.Type == "tool_use")
            {
                calls.Add(new ToolCall(block.Id ?? "", block.Name ?? "",
                    block.Input is { ValueKind: System.Text.Json.JsonValueKind.Object } input ? input.GetRawText() : "{}"));
            }
        }

        var finish = MapStop(message.StopReason);
        if (finish == FinishReason.ContentFilter && content.Length == 0 && calls.Count == 0)
        {
            throw ContentFiltered(message.StopReason ?? "refusal");
        }

        var text = content.ToString();
        return new ProviderResponse(text, finish == FinishReason.Unspecified ? FinishReason.Stop : finish,
            Usage(message.Usage, null, request, text + string.Concat(calls.Select(c => c.ArgumentsJson))), message.Model ?? request.Model.Id)
        {
            ToolCalls = calls,
        };
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

        // Content-block index → tool-call index (0, 1, … over the tool_use blocks only), and the
        // arguments seen per open tool_use block: a block must close before the message finishes.
        var tools = new Dictionary<int, int>();
        var open = new Dictionary<int, StringBuilder>();

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
                case "content_block_start":
                    if (data.ContentBlock is { Type: "tool_use" } block)
                    {
                        var index = tools.Count;
                        tools[data.Index] = index;
                        open[data.Index] = new StringBuilder();
                        yield return ProviderStreamEvent.ToolCallPart(new ToolCallDelta(index, block.Id ?? "", block.Name ?? "", null));
                    }

                    break;
                case "content_block_delta":
                    if (data.Delta is { Type: "text_delta", Text: { Length: > 0 } text })
                    {
                        content.Append(text);
                        yield return ProviderStreamEvent.Content(text);
                    }
                    else if (data.Delta is { Type: "input_json_delta", PartialJson: { Length: > 0 } partial } && open.TryGetValue(data.Index, out var arguments))
                    {
                        arguments.Append(partial);
                        yield return ProviderStreamEvent.ToolCallPart(new ToolCallDelta(tools[data.Index], null, null, partial));
                    }

                    break;
                case "content_block_stop":
                    if (open.Remove(data.Index, out var done))
                    {
                        content.Append(done);
                        if (done.Length == 0)
                        {
                            // A call without arguments streams no input_json_delta: its arguments are {}.
                            content.Append("{}");
                            yield return ProviderStreamEvent.ToolCallPart(new ToolCallDelta(tools[data.Index], null, null, "{}"));
                        }
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
                    // ping, thinking/signature deltas and event types added later carry nothing we need.
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

        if (open.Count > 0)
        {
            // Never a finished-looking half tool call: its arguments may be cut anywhere.
            throw StreamCut("a tool_use block was not closed before the message finished.");
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
    public static int ClampMaxTokens(int requested, CatalogModel model) => AnthropicRequestBody.ClampMaxTokens(requested, model);

    private HttpRequestMessage Build(ProviderRequest request, bool stream) =>
        Post("v1/messages", json => AnthropicRequestBody.Write(json, request, stream, Provider));

    /// <summary>
    /// Anthropic's <c>input_tokens</c> excludes cache reads and writes; ours includes them
    /// (<see cref="TokenUsage"/>), with the cached and written counts kept apart for pricing.
    /// </summary>
    private TokenUsage Usage(AnthropicUsage? start, AnthropicUsage? delta, ProviderRequest request, string content)
    {
        long? input = null;
        long read = 0, written = 0;
        foreach (var usage in (ReadOnlySpan<AnthropicUsage?>)[start, delta])
        {
            if (usage?.InputTokens is { } tokens)
            {
                // The delta's counts, when it has them, are cumulative and replace the start's.
                read = usage.CacheReadInputTokens ?? 0;
                written = usage.CacheCreationInputTokens ?? 0;
                input = tokens + read + written;
            }
        }

        var output = delta?.OutputTokens ?? start?.OutputTokens;
        return UsageOrEstimate(input, output, request, content) with
        {
            CachedInputTokens = input is null ? 0 : read,
            CacheWriteInputTokens = input is null ? 0 : written,
        };
    }

    private static FinishReason MapStop(string? reason) => reason switch
    {
        null => FinishReason.Unspecified,
        "max_tokens" or "model_context_window_exceeded" => FinishReason.Length,
        "refusal" => FinishReason.ContentFilter,
        "tool_use" => FinishReason.ToolCalls,
        _ => FinishReason.Stop,
    };
}
