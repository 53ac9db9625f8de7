using Microsoft.ML.Tokenizers;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Counts tokens with a real BPE tokenizer (o200k_base, the GPT-4o family's). Used to estimate
/// usage when a provider reports none, to size prompts against context windows, and by the
/// simulated provider. Created once at start-up: building the vocabulary takes ~100 ms.
/// </summary>
internal sealed class TokenCounter
{
    public TokenCounter()
    {
        Tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");
    }

    public Tokenizer Tokenizer { get; }

    public int Count(string text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.CountTokens(text);

    /// <summary>
    /// What one image is counted as in input estimates (admission, context sizing, usage when a provider
    /// reports none): a fixed figure, since the gateway does not decode images. Providers bill a large
    /// image at roughly this (Anthropic ~1,600 tokens for a 1.15-megapixel image, OpenAI 765–1,105 at
    /// high detail for 1024 px), so worst-case reservations hold for typical screenshots.
    /// </summary>
    public const int ImageTokens = 1_600;

    /// <summary>Framing of one tool call or one tool definition (type, id, braces), beyond its counted text.</summary>
    private const int ToolFraming = 8;

    /// <summary>
    /// Counts a chat the way chat APIs bill it: content plus ~4 tokens of framing per message, tool
    /// calls (name, arguments) and tool results (call id, output), and <see cref="ImageTokens"/> per image.
    /// </summary>
    public int Count(IEnumerable<ChatMessage> messages)
    {
        var total = 3;
        foreach (var message in messages)
        {
            total += 4 + Count(message.Content) + message.Images.Count * ImageTokens;
            foreach (var call in message.ToolCalls)
            {
                total += ToolFraming + Count(call.Name) + Count(call.ArgumentsJson);
            }

            if (message.ToolCallId is { } id)
            {
                total += Count(id);
            }
        }

        return total;
    }

    /// <summary>The tool definitions offered with a request (name, description, JSON schema): providers bill them as input.</summary>
    public int CountTools(IReadOnlyList<ToolDefinition> tools)
    {
        var total = 0;
        foreach (var tool in tools)
        {
            total += ToolFraming + Count(tool.Name) + Count(tool.Description ?? "") + Count(tool.ParametersJsonSchema);
        }

        return total;
    }

    /// <summary>A request's whole input: its messages and the tools it offers.</summary>
    public int Count(ProviderRequest request) => Count(request.Messages) + CountTools(request.Tools);

    /// <summary>The tokens of <paramref name="text"/> with their character ranges, in order.</summary>
    public IReadOnlyList<EncodedToken> Encode(string text) => Tokenizer.EncodeToTokens(text, out _);
}
