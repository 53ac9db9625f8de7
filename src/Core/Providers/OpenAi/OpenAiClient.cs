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
        var finish = MapFinish(choice.FinishReason, choice.Message?.Refusal);
        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(choice.FinishReason ?? "refusal");
        }

        var usage = UsageOrEstimate(completion.Usage?.PromptTokens, completion.Usage?.CompletionTokens, request, content);
        return new ProviderResponse(content, finish, usage, completion.Model ?? request.Model.Id);
    }

    public override async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var finish = FinishReason.Unspecified;
        string? providerFinish = null;
        ChatUsage? usage = null;
        var content = new StringBuilder();
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

            if (ParseEventOrSkip(item, OpenAiJsonContext.Default.ChatCompletion, bad, request.Model.Id) is not { } chunk)
            {
                continue;
            }

            if (chunk.Error is { ValueKind: JsonValueKind.Object } error)
            {
                throw StreamError(error.GetRawText());
            }

            usage = chunk.Usage ?? usage;
            foreach (var choice in chunk.Choices ?? [])
            {
                if (choice.Index != 0)
                {
                    continue;
                }

                if (choice.Delta?.Content is { Length: > 0 } text)
                {
                    content.Append(text);
                    yield return ProviderStreamEvent.Content(text);
                }

                if (choice.FinishReason is { Length: > 0 } reason)
                {
                    providerFinish = reason;
                    finish = MapFinish(reason, choice.Delta?.Refusal);
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

        if (finish == FinishReason.ContentFilter && content.Length == 0)
        {
            throw ContentFiltered(providerFinish ?? "content_filter");
        }

        yield return ProviderStreamEvent.Final(finish, UsageOrEstimate(usage?.PromptTokens, usage?.CompletionTokens, request, content.ToString()));
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
            json.WriteStartObject();
            json.WriteString("role", message.Role switch
            {
                // OpenAI's reasoning models take "developer" in place of "system"; compatible servers know only "system".
                ChatRole.System => request.Model.Reasoning && Provider == "openai" ? "developer" : "system",
                ChatRole.Assistant => "assistant",
                _ => "user",
            });
            json.WriteString("content", message.Content);
            json.WriteEndObject();
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

        if (stream)
        {
            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    });

    private static FinishReason MapFinish(string? reason, string? refusal) => reason switch
    {
        "length" => FinishReason.Length,
        "content_filter" => FinishReason.ContentFilter,
        null or "" => FinishReason.Unspecified,
        _ when !string.IsNullOrEmpty(refusal) => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
