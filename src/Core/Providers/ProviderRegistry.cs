using System.Collections.Frozen;

namespace MonkeyCoder.Core.Providers;

/// <summary>The provider clients enabled in this process, by provider name.</summary>
internal sealed class ProviderRegistry
{
    private readonly FrozenDictionary<string, IProviderClient> _clients;

    public ProviderRegistry(IEnumerable<IProviderClient> clients)
    {
        _clients = clients.ToFrozenDictionary(c => c.Provider, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyCollection<string> Enabled => _clients.Keys;

    public bool IsEnabled(string provider) => _clients.ContainsKey(provider);

    /// <summary>True when at least one of <paramref name="providers"/> is enabled.</summary>
    public bool IsEnabled(IEnumerable<string> providers) => providers.Any(_clients.ContainsKey);

    public string? BaseUrlOf(string provider) =>
        _clients.TryGetValue(provider, out var client) ? client.BaseUrl?.ToString() : null;

    public IProviderClient Get(string provider) =>
        _clients.TryGetValue(provider, out var client)
            ? client
            : throw new InvalidOperationException($"Provider '{provider}' is not enabled.");
}
