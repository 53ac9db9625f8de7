namespace MonkeyCoder.Core.Providers;

/// <summary>
/// An embedding model the catalog lists: passed through to its provider's embeddings endpoint
/// (OpenAI-compatible <c>/embeddings</c>, Gemini <c>batchEmbedContents</c>) and priced per input token.
/// </summary>
internal sealed record CatalogEmbeddingModel
{
    public required string Id { get; init; }

    public required string Provider { get; init; }

    public double InputPricePerMillion { get; init; }

    /// <summary>The vector length the model returns by default.</summary>
    public int Dimensions { get; init; }

    public double CostOf(long inputTokens) => inputTokens * InputPricePerMillion / 1_000_000d;
}
