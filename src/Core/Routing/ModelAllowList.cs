using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// A key's allow-list of models and providers (<c>allowed_models</c>): an entry is a provider
/// ("openai"), a model key ("openai/gpt-6-luna"), or a model id or alias. With model <c>auto</c>
/// the router considers only allowed models; naming one outside the list is PERMISSION_DENIED
/// <see cref="NotAllowed"/>, on gRPC and the OpenAI edge alike. Null or empty allows everything.
/// </summary>
internal static class ModelAllowList
{
    public const string NotAllowed = "MODEL_NOT_ALLOWED";

    public static bool Allows(IReadOnlyList<string>? allowed, CatalogModel model) =>
        allowed is not { Count: > 0 }
        || allowed.Any(entry => string.Equals(entry, model.Provider, StringComparison.OrdinalIgnoreCase)
            || string.Equals(entry, model.Key, StringComparison.OrdinalIgnoreCase)
            || string.Equals(entry, model.Id, StringComparison.OrdinalIgnoreCase)
            || model.Aliases.Contains(entry, StringComparer.OrdinalIgnoreCase));

    /// <summary>True when <paramref name="entry"/> (of a child key's list) allows nothing the parent's list does not.</summary>
    public static bool Narrows(IReadOnlyList<string> parent, string entry, ModelCatalog? catalog)
    {
        if (parent.Contains(entry, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        // A model the parent allows through its provider or another of its names.
        return catalog?.Find(entry) is { } model && !string.Equals(entry, model.Provider, StringComparison.OrdinalIgnoreCase) && Allows(parent, model);
    }

    public static RpcException Refused(string name, IReadOnlyList<string> allowed) =>
        RpcErrors.Create(StatusCode.PermissionDenied, NotAllowed,
            $"This API key may not use '{name}'; it is restricted to: {string.Join(", ", allowed)}.",
            new Dictionary<string, string> { ["model"] = name });
}
