using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// The caller's own choice of models, an input to the router. <see cref="Models"/> are pinned
/// models (a model named by the caller): the plan is each of them followed by its catalog
/// fallback chain, then <see cref="Fallbacks"/>, in that order, under the same window, budget,
/// allow-list, health and circuit checks as routed models (a model that cannot take the task is
/// left out with the reason; an open circuit moves it after the rest). Without pinned models
/// the router ranks the catalog and <see cref="Fallbacks"/> follow its ranking.
/// </summary>
internal sealed record RoutePins(IReadOnlyList<CatalogModel> Models, IReadOnlyList<CatalogModel> Fallbacks)
{
    /// <summary>Nothing pinned: the router ranks.</summary>
    public static RoutePins None { get; } = new([], []);
}
