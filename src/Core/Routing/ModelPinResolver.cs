using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// Turns the model names a caller gives (a pinned model and per-request fallbacks) into
/// <see cref="RoutePins"/>. One place for every edge (gRPC <c>ExecuteRequest.model</c>, the OpenAI
/// edge's <c>model</c>), so they resolve ids, aliases and "provider/id" alike and refuse alike:
/// an unknown pinned model is NOT_FOUND (MODEL_NOT_FOUND), an unknown fallback INVALID_ARGUMENT,
/// a model outside the key's allow-list PERMISSION_DENIED (MODEL_NOT_ALLOWED).
/// </summary>
internal static class ModelPinResolver
{
    public const string NotFound = "MODEL_NOT_FOUND";

    /// <summary>
    /// The pins for <paramref name="model"/> (null/empty lets the router rank) and <paramref name="fallbacks"/>;
    /// <paramref name="fallbacksField"/> names the request field in violations and <paramref name="listHint"/>
    /// tells the caller where to list models (appended to NOT_FOUND's message).
    /// </summary>
    public static RoutePins Resolve(ModelCatalog catalog, string? model, IReadOnlyList<string> fallbacks,
        IReadOnlyList<string>? allowedModels, string fallbacksField, string listHint)
    {
        if (string.IsNullOrWhiteSpace(model) && fallbacks.Count == 0)
        {
            return RoutePins.None;
        }

        List<CatalogModel> pinned = [];
        if (!string.IsNullOrWhiteSpace(model))
        {
            var requested = catalog.Find(model.Trim())
                ?? throw RpcErrors.Create(StatusCode.NotFound, NotFound,
                    $"The model '{model}' does not exist. {listHint}",
                    new Dictionary<string, string> { ["model"] = model });
            pinned.Add(ModelAllowList.Allows(allowedModels, requested) ? requested : throw ModelAllowList.Refused(model, allowedModels!));
        }

        var resolved = new List<CatalogModel>();
        for (var i = 0; i < fallbacks.Count; i++)
        {
            var fallback = catalog.Find(fallbacks[i].Trim())
                ?? throw RpcErrors.InvalidArgument($"{fallbacksField}[{i}]", $"The model '{fallbacks[i]}' does not exist.");
            resolved.Add(ModelAllowList.Allows(allowedModels, fallback) ? fallback : throw ModelAllowList.Refused(fallbacks[i], allowedModels!));
        }

        return new RoutePins(pinned, resolved);
    }
}
