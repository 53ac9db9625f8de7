namespace MonkeyCoder.Core.Providers.Embeddings;

/// <summary>
/// What a provider's embeddings endpoint answered: one vector per input, in input order, and the input
/// tokens it reported (<see cref="Estimated"/> when it reports none, as Gemini's batchEmbedContents).
/// </summary>
internal sealed record EmbeddingResult(IReadOnlyList<float[]> Vectors, long InputTokens, bool Estimated);
