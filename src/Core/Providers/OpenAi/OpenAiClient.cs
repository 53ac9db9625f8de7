using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.OpenAi;

/// <summary>
/// OpenAI chat completions (<c>POST {base}/chat/completions</c>, base including "/v1"), which
/// OpenAI, Groq, xAI and self-hosted servers (vLLM, Ollama, LM Studio) all speak. Reasoning models
/// get <c>max_completion_tokens</c> and no sampling parameters. Streams ask for
/// <c>stream_options.include_usage</c>, so usage arrives in a last chunk with no choices.
/// </summary>
internal sealed class OpenAiClient(ProviderClientSettings settings, TokenCounter tokens, TimeProvider time, ILogger<OpenAiClient> logger, HttpMessageHandler? handler = null)
    : HttpProviderClient(settings, tokens, time, logger, handler)
{
    public const string Protocol = "openai";

    public override async Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var completion = await SendAsync(Build(request, stream: false), OpenAiJsonContext.Default.ChatCompletion, request.Model.Id, cancellationToken);
        if (completion.Error is { ValueKind: JsonValueKind.Object } error)
        {
            throw StreamError(error.GetRawText());
        }

        var choice = completion.Choices is { Count: > 0 } choices ? choices[0] : null;
        if (choice is null)
        {
            throw new ProviderException(Provider, ProviderErrorClass.MalformedStream, "The completion has no choices.");
        }

        var content = choice.Message?.Content ?? "";
        var calls = ToolCalls(choice.Message?.ToolCalls);
        var finish = MapFinish(choice.FinishReason, choice.Message?.Refusal);
        if (calls.Count > 0 && finish == FinishReason.Stop)
        {
            // Some compatible servers finish a tool-calling turn with "stop": the calls are the answer.
            finish = FinishReason.ToolCalls;
        }

        if (finish == FinishReason.ContentFilter && content.Length == 0 && calls.Count == 0)
        {
            throw ContentFiltered(choice.FinishReason ?? "refusal");
        }

        var usage = Usage(completion.Usage, request, content, calls);
        return new ProviderResponse(content, finish, usage, completion.Model ?? request.Model.Id) { ToolCalls = calls };
    }

    /// <summary>Complete tool calls of a unary answer; a call without an id gets one (some compatible servers omit it).</summary>
    private static List<ToolCall> ToolCalls(List<ChatToolCall>? calls)
    {
        var result = new List<ToolCall>(calls?.Count ?? 0);
        foreach (var call in calls ?? [])
        {
            if (call.Function?.Name is not { Length: > 0 } name)
            {
                continue;
            }

            var id = call.Id is { Length: > 0 } given ? given : "call_" + result.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            result.Add(new ToolCall(id, name, string.IsNullOrEmpty(call.Function.Arguments) ? "{}" : call.Function.Arguments));
        }

        return result;
    }

    /// <summary>The provider's usage with its cached prompt tokens, or an estimate that counts tool-call arguments as output.</summary>
    private TokenUsage Usage(ChatUsage? usage, ProviderRequest request, string content, IReadOnlyList<ToolCall> calls)
    {
        var output = calls.Count == 0 ? content : content + string.Concat(calls.Select(c => c.Name + c.ArgumentsJson));
        var counted = UsageOrEstimate(usage?.PromptTokens, usage?.CompletionTokens, request, output);
        return counted with { CachedInputTokens = usage?.PromptTokensDetails?.CachedTokens ?? 0 };
    }

    public override async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var finish = FinishReason.Unspecified;
        string? providerFinish = null;
        OpenAiUsage? usage = null;
        var chunk = new OpenAiChunk();
        var content = new StringBuilder();
        var toolText = new StringBuilder();
        var sawToolCall = false;
        var sawDone = false;
        var bad = new BadEventCounter();

        // Cancelled by us only to stop waiting after a finish chunk (below); the caller's token stays untouched.
        using var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var events = SendStreamAsync(Build(request, stream: true), request.Model.Id, upstream.Token).GetAsyncEnumerator(upstream.Token);
        while (true)
        {
            bool more;
            if (finish != FinishReason.Unspecified && usage is null)
            {
                // The finish chunk came without usage. A server that honours include_usage sends its usage
                // chunk right after; one that ignores it and never sends [DONE] (some self-hosted servers)
                // may hold the connection open, which must not turn a complete answer into a stall.
                more = await NextWithinAsync(events, Settings.FinalChunkGrace, upstream, cancellationToken);
            }
            else
            {
                more = await events.MoveNextAsync();
            }

            if (!more)
            {
                break;
            }

            var item = events.Current;
            if (item.IsDone)
            {
                sawDone = true;
                break;
            }

            if (!ParseEventOrSkip(item, static (data, target) => OpenAiChunkParser.Parse(data, target), chunk, bad, request.Model.Id))
            {
                continue;
            }

            if (chunk.ErrorJson is { } error)
            {
                throw StreamError(error);
            }

            usage = chunk.Usage ?? usage;
            foreach (var choice in chunk.Choices)
            {
                if (choice.Content is { Length: > 0 } text)
                {
                    content.Append(text);
                    yield return ProviderStreamEvent.Content(text);
                }

                for (var i = choice.ToolCallStart; i < choice.ToolCallStart + choice.ToolCallCount; i++)
                {
                    var piece = chunk.ToolCalls[i];
                    if (piece.Id is null && piece.Name is null && string.IsNullOrEmpty(piece.ArgumentsDelta))
                    {
                        continue;
                    }

                    sawToolCall = true;
                    toolText.Append(piece.Name).Append(piece.ArgumentsDelta);
                    yield return ProviderStreamEvent.ToolCallPart(piece);
                }

                if (choice.FinishReason is { Length: > 0 } reason)
                {
                    providerFinish = reason;
                    finish = MapFinish(reason, choice.Refusal);
                }
            }

            // With include_usage the usage chunk is the last one: finish now rather than wait for [DONE].
            if (finish != FinishReason.Unspecified && usage is not null)
            {
                break;
            }
        }

        if (finish == FinishReason.Unspecified)
        {
            throw StreamCut(sawDone ? "[DONE] arrived without a finish_reason." : "no chunk carried a finish_reason.");
        }

        if (sawToolCall && finish == FinishReason.Stop)
        {
            finish = FinishReason.ToolCalls;
        }

        if (finish == FinishReason.ContentFilter && content.Length == 0 && !sawToolCall)
        {
            throw ContentFiltered(providerFinish ?? "content_filter");
        }

        var counted = UsageOrEstimate(usage?.PromptTokens, usage?.CompletionTokens, request, content.Append(toolText).ToString());
        yield return ProviderStreamEvent.Final(finish, counted with { CachedInputTokens = usage?.CachedTokens ?? 0 });
    }

    /// <summary>
    /// The next event if it arrives within <paramref name="grace"/>; false (and the upstream request
    /// ended) when it does not, as at the end of the stream.
    /// </summary>
    private async Task<bool> NextWithinAsync(IAsyncEnumerator<SseEvent> events, TimeSpan grace, CancellationTokenSource upstream, CancellationToken cancellationToken)
    {
        var next = events.MoveNextAsync().AsTask();
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var delay = Task.Delay(grace, Time, timer.Token);
            if (await Task.WhenAny(next, delay) == next)
            {
                await timer.CancelAsync();
                return await next;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        await upstream.CancelAsync();
        try
        {
            await next;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own cancellation of the upstream read.
        }

        return false;
    }

    /// <summary><c>GET {base}/models</c>: OpenAI, Groq, xAI, vLLM, Ollama and LM Studio all serve it.</summary>
    protected override string ModelsPath => "models";

    protected override void AddHeaders(HttpRequestMessage request)
    {
        if (!string.IsNullOrEmpty(Settings.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Settings.ApiKey);
        }
    }

    private HttpRequestMessage Build(ProviderRequest request, bool stream) => Post("chat/completions", json =>
    {
        json.WriteStartObject();
        json.WriteString("model", request.Model.Id);
        json.WriteStartArray("messages");
        foreach (var message in request.Messages)
        {
            WriteMessage(json, message, request);
        }

        json.WriteEndArray();
        if (request.Model.Reasoning)
        {
            json.WriteNumber("max_completion_tokens", Math.Max(1, request.MaxTokens));
        }
        else
        {
            json.WriteNumber("max_tokens", Math.Max(1, request.MaxTokens));
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }
        }

        WriteTools(json, request);
        WriteSampling(json, request.Sampling);
        if (stream)
        {
            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    });

    /// <summary>One chat message: text or text + image parts (user), tool calls (assistant), a tool result (role "tool").</summary>
    private void WriteMessage(Utf8JsonWriter json, ChatMessage message, ProviderRequest request)
    {
        json.WriteStartObject();
        json.WriteString("role", message.Role switch
        {
            // OpenAI's reasoning models take "developer" in place of "system"; compatible servers know only "system".
            ChatRole.System => request.Model.Reasoning && Provider == "openai" ? "developer" : "system",
            ChatRole.Assistant => "assistant",
            ChatRole.Tool => "tool",
            _ => "user",
        });
        if (message.Role == ChatRole.Tool)
        {
            json.WriteString("tool_call_id", message.ToolCallId ?? "");
            json.WriteString("content", message.Content);
        }
        else if (message.Images.Count > 0)
        {
            json.WriteStartArray("content");
            if (message.Content.Length > 0)
            {
                json.WriteStartObject();
                json.WriteString("type", "text");
                json.WriteString("text", message.Content);
                json.WriteEndObject();
            }

            foreach (var image in message.Images)
            {
                json.WriteStartObject();
                json.WriteString("type", "image_url");
                json.WriteStartObject("image_url");
                json.WriteString("url", image.IsInline ? "data:" + (image.MediaType ?? "image/png") + ";base64," + image.Base64Data : image.Url);
                if (image.Detail is { Length: > 0 } detail)
                {
                    json.WriteString("detail", detail);
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else if (message.HasToolCalls && message.Content.Length == 0)
        {
            json.WriteNull("content");
        }
        else
        {
            json.WriteString("content", message.Content);
        }

        if (message.HasToolCalls)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in message.ToolCalls)
            {
                json.WriteStartObject();
                json.WriteString("id", call.Id);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.Name);
                json.WriteString("arguments", call.ArgumentsJson);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter json, ProviderRequest request)
    {
        if (request.Tools.Count == 0)
        {
            return;
        }

        json.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            json.WriteStartObject();
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", tool.Name);
            if (tool.Description is { Length: > 0 } description)
            {
                json.WriteString("description", description);
            }

            json.WritePropertyName("parameters");
            json.WriteRawValue(string.IsNullOrWhiteSpace(tool.ParametersJsonSchema) ? """{"type":"object","properties":{}}""" : tool.ParametersJsonSchema);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        switch (request.ToolChoice.Kind)
        {
            case ToolChoiceKind.None:
                json.WriteString("tool_choice", "none");
                break;
            case ToolChoiceKind.Required:
                json.WriteString("tool_choice", "required");
                break;
            case ToolChoiceKind.Named:
                json.WriteStartObject("tool_choice");
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", request.ToolChoice.Name);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            default:
                json.WriteString("tool_choice", "auto");
                break;
        }

        if (request.ParallelToolCalls is { } parallel)
        {
            json.WriteBoolean("parallel_tool_calls", parallel);
        }
    }

    /// <summary>Every option is sent as given: one the server rejects comes back as its 400, never silently dropped.</summary>
    private static void WriteSampling(Utf8JsonWriter json, SamplingOptions sampling)
    {
        if (sampling.Stop.Count > 0)
        {
            json.WriteStartArray("stop");
            foreach (var stop in sampling.Stop)
            {
                json.WriteStringValue(stop);
            }

            json.WriteEndArray();
        }

        if (sampling.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        if (sampling.TopP is { } topP)
        {
            json.WriteNumber("top_p", topP);
        }

        if (sampling.PresencePenalty is { } presence)
        {
            json.WriteNumber("presence_penalty", presence);
        }

        if (sampling.FrequencyPenalty is { } frequency)
        {
            json.WriteNumber("frequency_penalty", frequency);
        }

        switch (sampling.ResponseFormat)
        {
            case { Kind: ResponseFormatKind.JsonObject }:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_object");
                json.WriteEndObject();
                break;
            case { Kind: ResponseFormatKind.JsonSchema } format:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_schema");
                json.WriteStartObject("json_schema");
                json.WriteString("name", format.SchemaName is { Length: > 0 } name ? name : "response");
                json.WritePropertyName("schema");
                json.WriteRawValue(format.SchemaJson is { Length: > 0 } schema ? schema : "{}");
                if (format.Strict)
                {
                    json.WriteBoolean("strict", true);
                }

                json.WriteEndObject();
                json.WriteEndObject();
                break;
        }

        if (sampling.User is { Length: > 0 } user)
        {
            json.WriteString("user", user);
        }
    }

    private static FinishReason MapFinish(string? reason, string? refusal) => reason switch
    {
        "length" => FinishReason.Length,
        "content_filter" => FinishReason.ContentFilter,
        "tool_calls" or "function_call" => FinishReason.ToolCalls,
        null or "" => FinishReason.Unspecified,
        _ when !string.IsNullOrEmpty(refusal) => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
