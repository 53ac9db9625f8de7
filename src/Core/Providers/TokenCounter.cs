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

    /// <summary>Counts a chat the way chat APIs bill it: content plus ~4 tokens of framing per message.</summary>
    public int Count(IEnumerable<ChatMessage> messages)
    {
        var total = 3;
        foreach (var message in messages)
        {
            total += 4 + Count(message.Content);
        }

        return total;
    }

    /// <summary>The tokens of <paramref name="text"/> with their character ranges, in order.</summary>
    public IReadOnlyList<EncodedToken> Encode(string text) => Tokenizer.EncodeToTokens(text, out _);
}
