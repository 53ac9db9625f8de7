using Microsoft.ML.Tokenizers;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Counts tokens with a real BPE tokenizer (o200k_base, the GPT-4o family's). Used to estimate
/// usage when a provider reports none, to size prompts against context windows, and by the
/// simulated provider. Building the vocabulary (200k entries) takes 0.3–0.6 s and ~40 MB, so it is
/// built once, off the request path: <see cref="BeginLoad"/> starts it in the background (the host
/// calls it at start), and only exact counts (<see cref="Count(string)"/>) wait for it. Estimates
/// that only need to err high (<see cref="UpperBound(string)"/>: routing's window check) never
/// wait: before the vocabulary is ready they are the text's UTF-8 length, which no BPE count
/// exceeds (every token covers at least one byte).
/// </summary>
internal sealed class TokenCounter
{
    private readonly Lazy<Task<Tokenizer>> _load = new(
        () => Task.Run(() => (Tokenizer)TiktokenTokenizer.CreateForEncoding("o200k_base")),
        LazyThreadSafetyMode.ExecutionAndPublication);

    private volatile Tokenizer? _tokenizer;

    /// <summary>The vocabulary, waiting for it to finish loading if it has not yet.</summary>
    public Tokenizer Tokenizer => _tokenizer ??= _load.Value.GetAwaiter().GetResult();

    /// <summary>True once the vocabulary is built: exact counts no longer wait.</summary>
    public bool IsLoaded
    {
        get
        {
            if (_tokenizer is null && _load.IsValueCreated && _load.Value.IsCompletedSuccessfully)
            {
                _tokenizer = _load.Value.Result;
            }

            return _tokenizer is not null;
        }
    }

    /// <summary>Starts building the vocabulary in the background (idempotent); the task completes when it is ready.</summary>
    public Task BeginLoad() => _load.Value;

    public int Count(string text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.CountTokens(text);

    /// <summary>
    /// The exact count once the vocabulary is loaded; before that, without waiting, the text's UTF-8
    /// length, which is never below the exact count. For checks where a high estimate is safe.
    /// </summary>
    public int UpperBound(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        if (IsLoaded)
        {
            return _tokenizer!.CountTokens(text);
        }

        _ = BeginLoad();
        return System.Text.Encoding.UTF8.GetByteCount(text);
    }

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
