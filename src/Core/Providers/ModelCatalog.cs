using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Every model's limits, prices and capabilities, loaded once from the shipped
/// <c>catalog.json</c> (or <see cref="CatalogOptions.Path"/>) plus models added by configuration.
/// Lookups accept an id, an alias, or "provider/id".
/// </summary>
internal sealed class ModelCatalog
{
    private readonly FrozenDictionary<string, CatalogProvider> _providers;
    private readonly Lock _gate = new();

    // Swapped whole when a provider's model list reports windows; readers see one consistent snapshot.
    private volatile Snapshot _snapshot;

    public ModelCatalog(CatalogDocument document, IReadOnlyDictionary<string, string>? aliases = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        EmbeddingModels = document.EmbeddingModels ?? [];
        document = WithAliases(Normalize(document), aliases ?? new Dictionary<string, string>());
        Providers = document.Providers;
        _providers = document.Providers.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

        _snapshot = Index(document.Models);

        // A misspelt fallback would otherwise be skipped in silence at the moment it is needed.
        foreach (var model in document.Models)
        {
            foreach (var name in model.Fallbacks.Append(model.Replacement).OfType<string>())
            {
                if (Find(name, model.Provider) is not { } target || target.Key.Equals(model.Key, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"Catalog model '{model.Key}' names '{name}' as a fallback or replacement, which is not another model of the catalog.");
                }
            }
        }
    }

    private sealed record Snapshot(IReadOnlyList<CatalogModel> Models, FrozenDictionary<string, CatalogModel> ByName);

    private Snapshot Index(IReadOnlyList<CatalogModel> models)
    {
        var byName = new Dictionary<string, CatalogModel>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in models)
        {
            if (!_providers.ContainsKey(model.Provider))
            {
                throw new InvalidOperationException($"Catalog model '{model.Id}' names unknown provider '{model.Provider}'.");
            }

            if (!byName.TryAdd(model.Key, model))
            {
                throw new InvalidOperationException($"Catalog lists model '{model.Key}' twice.");
            }
        }

        // Bare ids and aliases resolve to the first model that claims them, in catalog order.
        foreach (var model in models)
        {
            byName.TryAdd(model.Id, model);
            foreach (var alias in model.Aliases)
            {
                byName.TryAdd(alias, model);
            }
        }

        return new Snapshot(models, byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Whether <paramref name="provider"/> serves a model whose window was left unset, so its model list is worth reading.</summary>
    public bool HasUnsetContextWindows(string provider) =>
        _snapshot.Models.Any(m => m.ContextWindowUnset && string.Equals(m.Provider, provider, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Applies the windows <paramref name="provider"/>'s model list reports (id → tokens) to its models
    /// whose window was left unset; models with a configured window keep it. Returns the models changed.
    /// </summary>
    public IReadOnlyList<CatalogModel> ApplyReportedContextWindows(string provider, IReadOnlyDictionary<string, int> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        if (windows.Count == 0)
        {
            return [];
        }

        lock (_gate)
        {
            var changed = new List<CatalogModel>();
            var models = _snapshot.Models.Select(m =>
            {
                if (!m.ContextWindowUnset || !string.Equals(m.Provider, provider, StringComparison.OrdinalIgnoreCase)
                    || !windows.TryGetValue(m.Id, out var window) || window == m.ContextWindow)
                {
                    return m;
                }

                var updated = m with { ContextWindow = window };
                changed.Add(updated);
                return updated;
            }).ToList();
            if (changed.Count > 0)
            {
                _snapshot = Index(models);
            }

            return changed;
        }
    }

    public IReadOnlyList<CatalogProvider> Providers { get; }

    /// <summary>
    /// Adds configured aliases (<see cref="ModelAliasOptions"/>) and the defaults to their models'
    /// <see cref="CatalogModel.Aliases"/>, so lookups, allow-lists and the model list all know them.
    /// A configured alias that names no model, or a name another model already has, fails the start:
    /// it would otherwise route elsewhere in silence. Defaults give way to both.
    /// </summary>
    private static CatalogDocument WithAliases(CatalogDocument document, IReadOnlyDictionary<string, string> configured)
    {
        var models = document.Models.ToList();
        int IndexOf(string name) =>
            models.FindIndex(m => string.Equals(m.Key, name, StringComparison.OrdinalIgnoreCase)) is var byKey and >= 0
                ? byKey
                : models.FindIndex(m => string.Equals(m.Id, name, StringComparison.OrdinalIgnoreCase) || m.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));

        var entries = ModelAliasOptions.Defaults.Where(d => !configured.ContainsKey(d.Key)).Select(d => (d.Key, d.Value, Configured: false))
            .Concat(configured.Select(c => (c.Key, c.Value, Configured: true)));
        foreach (var (alias, target, isConfigured) in entries)
        {
            if (string.IsNullOrWhiteSpace(alias) || string.IsNullOrWhiteSpace(target))
            {
                continue;
            }

            var index = IndexOf(target.Trim());
            var taken = IndexOf(alias.Trim());
            if (index < 0 || (taken >= 0 && taken != index))
            {
                if (!isConfigured)
                {
                    continue;
                }

                throw new InvalidDataException(index < 0
                    ? $"Model alias '{alias}' (MonkeyCoder:Models:Aliases) names '{target}', which is not a catalog model."
                    : $"Model alias '{alias}' (MonkeyCoder:Models:Aliases) is already the name of catalog model '{models[taken].Key}'.");
            }

            if (taken < 0)
            {
                models[index] = models[index] with { Aliases = [.. models[index].Aliases, alias.Trim()] };
            }
        }

        return document with { Models = models };
    }

    /// <summary>
    /// Fills what a catalog file may omit. The JSON source generator sets omitted init-only
    /// members to null rather than keeping their initializers, so defaults are applied here.
    /// </summary>
    private static CatalogDocument Normalize(CatalogDocument document)
    {
        var providers = (document.Providers ?? []).Select(p => p with
        {
            DisplayName = string.IsNullOrEmpty(p.DisplayName) ? p.Name : p.DisplayName,
            BaseUrl = p.BaseUrl ?? "",
        }).ToList();
        return new CatalogDocument
        {
            Providers = providers,
            Models = (document.Models ?? []).Select(m => Normalize(m, providers)).ToList(),
        };
    }

    private static CatalogModel Normalize(CatalogModel m, List<CatalogProvider> providers)
    {
        var protocol = providers.Find(p => string.Equals(p.Name, m.Provider, StringComparison.OrdinalIgnoreCase))?.Protocol;
        var supportsTools = m.SupportsTools ?? !string.Equals(protocol ?? m.Provider, "simulated", StringComparison.OrdinalIgnoreCase);
        var supportsImages = m.SupportsImages ?? false;
        return m with
        {
            SupportsTools = supportsTools,
            SupportsImages = supportsImages,
            Features = ProtocolFeatures(protocol ?? m.Provider)
                | (supportsTools ? RequestFeatures.Tools : RequestFeatures.None)
                | (supportsImages ? RequestFeatures.Images : RequestFeatures.None),
            // Anthropic's Messages API continues a trailing assistant turn; OpenAI-compatible servers differ, so only when the catalog says so.
            SupportsAssistantPrefill = m.SupportsAssistantPrefill ?? string.Equals(protocol, "anthropic", StringComparison.OrdinalIgnoreCase),
            DisplayName = string.IsNullOrEmpty(m.DisplayName) ? m.Id : m.DisplayName,
            Aliases = m.Aliases ?? [],
            Fallbacks = m.Fallbacks ?? [],
            Capabilities = m.Capabilities ?? new ModelScores(),
            Status = string.IsNullOrEmpty(m.Status) ? "active" : m.Status,
        };
    }

    /// <summary>The sampling and format options a wire protocol can carry (tools and images are per model).</summary>
    internal static RequestFeatures ProtocolFeatures(string protocol) => protocol.ToLowerInvariant() switch
    {
        "openai" or "gemini" => RequestFeatures.Seed | RequestFeatures.Penalties | RequestFeatures.JsonObject | RequestFeatures.JsonSchema,
        // Anthropic's Messages API has no seed, penalties or response format.
        _ => RequestFeatures.None,
    };

    public IReadOnlyList<CatalogModel> Models => _snapshot.Models;

    public bool TryGetModel(string name, out CatalogModel model)
    {
        if (_snapshot.ByName.TryGetValue(name, out var found))
        {
            model = found;
            return true;
        }

        model = null!;
        return false;
    }

    /// <summary>Resolves a name within one provider first ("gpt-4.1" under "openai"), then globally.</summary>
    public CatalogModel? Find(string name, string? provider = null)
    {
        if (provider is not null && _snapshot.ByName.TryGetValue($"{provider}/{name}", out var scoped))
        {
            return scoped;
        }

        return _snapshot.ByName.GetValueOrDefault(name);
    }

    public CatalogProvider? FindProvider(string name) => _providers.GetValueOrDefault(name);

    /// <summary>The embedding models of the catalog (never routed to for tasks).</summary>
    public IReadOnlyList<CatalogEmbeddingModel> EmbeddingModels { get; }

    /// <summary>An embedding model by id or "provider/id".</summary>
    public CatalogEmbeddingModel? FindEmbedding(string name) => EmbeddingModels.FirstOrDefault(m =>
        string.Equals(m.Id, name, StringComparison.OrdinalIgnoreCase) || string.Equals(m.Provider + "/" + m.Id, name, StringComparison.OrdinalIgnoreCase));

    public static CatalogDocument LoadDocument(string? path)
    {
        if (!string.IsNullOrWhiteSpace(path))
        {
            using var file = File.OpenRead(path);
            return JsonSerializer.Deserialize(file, CatalogJsonContext.Default.CatalogDocument)
                ?? throw new InvalidDataException($"Model catalog '{path}' is empty.");
        }

        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream("MonkeyCoder.catalog.json")
            ?? throw new InvalidOperationException("The shipped model catalog is missing from the assembly.");
        return JsonSerializer.Deserialize(stream, CatalogJsonContext.Default.CatalogDocument)
            ?? throw new InvalidDataException("The shipped model catalog is empty.");
    }

    /// <summary>Applies configured providers and models on top of a catalog document.</summary>
    internal static CatalogDocument Merge(CatalogDocument document, IReadOnlyList<CatalogProviderOverride> configured)
    {
        if (configured.Count == 0)
        {
            return document;
        }

        var providers = (document.Providers ?? []).ToList();
        var models = (document.Models ?? []).ToList();
        foreach (var entry in configured)
        {
            var index = providers.FindIndex(p => string.Equals(p.Name, entry.Name, StringComparison.OrdinalIgnoreCase));
            var name = index >= 0 ? providers[index].Name : entry.Name;
            if (index >= 0)
            {
                var known = providers[index];
                providers[index] = known with
                {
                    Protocol = entry.Protocol ?? known.Protocol,
                    BaseUrl = entry.BaseUrl ?? known.BaseUrl,
                    DisplayName = entry.DisplayName ?? known.DisplayName,
                };
            }
            else
            {
                providers.Add(new CatalogProvider { Name = name, DisplayName = entry.DisplayName ?? name, Protocol = entry.Protocol ?? "openai", BaseUrl = entry.BaseUrl ?? "" });
            }

            foreach (var model in entry.Models)
            {
                var added = model with { Provider = name };
                var existing = models.FindIndex(m => string.Equals(m.Key, added.Key, StringComparison.OrdinalIgnoreCase));
                if (existing >= 0)
                {
                    models[existing] = added;
                }
                else
                {
                    models.Add(added);
                }
            }
        }

        return new CatalogDocument { Providers = providers, Models = models, EmbeddingModels = document.EmbeddingModels };
    }

    internal static ModelCatalog Create(IOptions<CatalogOptions> options, IOptions<ModelAliasOptions>? aliases = null)
    {
        var path = options.Value.Path;
        var document = LoadCatalog(path, options);
        try
        {
            return new ModelCatalog(document, aliases?.Value.Aliases);
        }
        catch (InvalidDataException ex) when (ex.Message.StartsWith("Model alias", StringComparison.Ordinal))
        {
            throw new OptionsValidationException(ModelAliasOptions.Section, typeof(ModelAliasOptions), [ex.Message]);
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new OptionsValidationException(CatalogOptions.Section, typeof(CatalogOptions),
                [$"MODEL_CATALOG_PATH (MonkeyCoder:Catalog:Path) '{path}' could not be loaded: {ex.Message}"]);
        }
    }

    private static CatalogDocument LoadCatalog(string? path, IOptions<CatalogOptions> options)
    {
        try
        {
            return Merge(LoadDocument(path), options.Value.ConfiguredProviders());
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new OptionsValidationException(CatalogOptions.Section, typeof(CatalogOptions),
                [$"MODEL_CATALOG_PATH (MonkeyCoder:Catalog:Path) '{path}' could not be loaded: {ex.Message}"]);
        }
    }
}
