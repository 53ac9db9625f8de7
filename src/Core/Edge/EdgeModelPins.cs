using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// How an HTTP edge turns the model a caller named (and its request fallbacks) into
/// <see cref="RoutePins"/>: <c>auto</c> pins nothing (the router ranks, the fallbacks follow); a named
/// model is pinned, followed by its catalog chain and the fallbacks. Every name must exist and be on the
/// key's allow-list. Shared by the OpenAI and Anthropic edges so a model name means the same on both.
/// </summary>
internal static class EdgeModelPins
{
    /// <summary>The model name that asks Monkey Coder to route.</summary>
    public const string AutoModel = "auto";

    public static bool IsAuto(string model) => string.Equals(model, AutoModel, StringComparison.OrdinalIgnoreCase);

    /// <param name="catalog">Where names are looked up.</param>
    /// <param name="model">The requested model, or <c>auto</c>.</param>
    /// <param name="fallbacks">Models to try after it (none on edges without the extension).</param>
    /// <param name="allowedModels">The key's allow-list; null = any.</param>
    /// <param name="listModels">Where the caller can list models, named in the not-found message (e.g. "GET /openai/v1/models").</param>
    public static RoutePins Resolve(ModelCatalog catalog, string model, IReadOnlyList<string> fallbacks, IReadOnlyList<string>? allowedModels, string listModels)
    {
        List<CatalogModel> pinned = [];
        if (!IsAuto(model))
        {
            var requested = catalog.Find(model)
                ?? throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND",
                    $"The model '{model}' does not exist. List models with {listModels}, or use \"auto\".",
                    new Dictionary<string, string> { ["model"] = model });
            pinned.Add(ModelAllowList.Allows(allowedModels, requested) ? requested : throw ModelAllowList.Refused(model, allowedModels!));
        }

        var resolved = new List<CatalogModel>();
        for (var i = 0; i < fallbacks.Count; i++)
        {
            var fallback = catalog.Find(fallbacks[i])
                ?? throw RpcErrors.InvalidArgument($"fallbacks[{i}]", $"The model '{fallbacks[i]}' does not exist.");
            resolved.Add(ModelAllowList.Allows(allowedModels, fallback) ? fallback : throw ModelAllowList.Refused(fallbacks[i], allowedModels!));
        }

        return new RoutePins(pinned, resolved);
    }
}
