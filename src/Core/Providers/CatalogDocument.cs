using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Providers;

/// <summary>A provider the catalog knows: which wire protocol it speaks and where.</summary>
internal sealed record CatalogProvider
{
    public required string Name { get; init; }

    public string DisplayName { get; init; } = "";

    /// <summary>"openai", "anthropic", "gemini" or "simulated".</summary>
    public required string Protocol { get; init; }

    /// <summary>Default base URL; overridden by configuration.</summary>
    public string BaseUrl { get; init; } = "";

    /// <summary>The environment variable whose presence enables this provider.</summary>
    public string? ApiKeyVariable { get; init; }
}

internal sealed record CatalogDocument
{
    public IReadOnlyList<CatalogProvider> Providers { get; init; } = [];

    public IReadOnlyList<CatalogModel> Models { get; init; } = [];

    /// <summary>Embedding models (<c>POST /openai/v1/embeddings</c>): kept apart from <see cref="Models"/>, which the router ranks for tasks.</summary>
    public IReadOnlyList<CatalogEmbeddingModel> EmbeddingModels { get; init; } = [];
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(CatalogDocument))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
