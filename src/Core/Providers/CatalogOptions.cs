namespace MonkeyCoder.Core.Providers;

/// <summary>Catalog location. Section <c>MonkeyCoder:Catalog</c>.</summary>
public sealed class CatalogOptions
{
    public const string Section = "MonkeyCoder:Catalog";

    /// <summary><c>MODEL_CATALOG_PATH</c>: a JSON file that replaces the shipped catalog. Defaults to none.</summary>
    public string? Path { get; set; }

    // A field, not a property, so the configuration binder leaves it alone.
    private readonly List<CatalogProviderOverride> _configuredProviders = [];

    /// <summary>Providers and models added under <c>MonkeyCoder:Providers</c>.</summary>
    internal List<CatalogProviderOverride> ConfiguredProviders() => _configuredProviders;
}

/// <summary>A provider as configured: fields set here override the catalog's; its models are added (or replace same-id ones).</summary>
internal sealed record CatalogProviderOverride(string Name, string? Protocol, string? BaseUrl, string? DisplayName, IReadOnlyList<CatalogModel> Models);
