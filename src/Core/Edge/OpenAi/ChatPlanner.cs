using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// Turns a chat call into a plan. <c>auto</c> goes to the router (the request's <c>fallbacks</c>
/// appended after its ranking). A named model is planned
/// explicitly: that model first, then its catalog fallback chain, then the request's
/// <c>fallbacks</c> in order — each model once, models of providers not enabled here left out —
/// and the execution engine fails over along that order as it does for any plan.
/// </summary>
internal sealed class ChatPlanner(ITaskRouter router, TaskAnalyzer analyzer, ModelCatalog catalog, ProviderRegistry providers)
{
    public async ValueTask<RoutePlan> PlanAsync(ChatCall call, CancellationToken cancellationToken)
    {
        if (call.IsAuto)
        {
            // The router's ranking first; the request's fallbacks (if any) after it, each model once.
            var routed = await router.PlanAsync(call.Task, cancellationToken);
            var extra = Resolve(call.Fallbacks, call.Task.AllowedModels)
                .Where(m => providers.IsEnabled(m.Provider) && routed.Candidates.All(c => !string.Equals(c.Model.Key, m.Key, StringComparison.OrdinalIgnoreCase)))
                .DistinctBy(m => m.Key, StringComparer.OrdinalIgnoreCase)
                .Select(m => new RouteCandidate(m, 0, ["fallback listed by the caller"], new Dictionary<string, double>()))
                .ToList();
            return extra.Count == 0 ? routed : routed with { Candidates = [.. routed.Candidates, .. extra] };
        }

        return Named(call);
    }

    private List<CatalogModel> Resolve(IReadOnlyList<string> names, IReadOnlyList<string>? allowed)
    {
        var models = new List<CatalogModel>();
        for (var i = 0; i < names.Count; i++)
        {
            var model = catalog.Find(names[i])
                ?? throw RpcErrors.InvalidArgument($"fallbacks[{i}]", $"The model '{names[i]}' does not exist.");
            models.Add(ModelAllowList.Allows(allowed, model) ? model : throw ModelAllowList.Refused(names[i], allowed!));
        }

        return models;
    }

    private RoutePlan Named(ChatCall call)
    {

        var requested = catalog.Find(call.Model)
            ?? throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND",
                $"The model '{call.Model}' does not exist. List models with GET /openai/v1/models, or use \"auto\".",
                new Dictionary<string, string> { ["model"] = call.Model });

        var allowed = call.Task.AllowedModels;
        if (!ModelAllowList.Allows(allowed, requested))
        {
            throw ModelAllowList.Refused(call.Model, allowed!);
        }

        var fallbacks = Resolve(call.Fallbacks, allowed);

        var ordered = new List<(CatalogModel Model, string Reason)> { (requested, "requested by the caller") };
        foreach (var name in requested.Fallbacks)
        {
            // Catalog chains name "id" (same provider first) or "provider/id".
            // The catalog's chain stays within the key's allow-list.
            if (catalog.Find(name, requested.Provider) is { } model && ModelAllowList.Allows(allowed, model))
            {
                ordered.Add((model, $"catalog fallback of {requested.Key}"));
            }
        }

        ordered.AddRange(fallbacks.Select(m => (m, "fallback listed by the caller")));

        var candidates = new List<RouteCandidate>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var skipped = new List<string>();
        foreach (var (model, reason) in ordered)
        {
            if (!seen.Add(model.Key))
            {
                continue;
            }

            if (!providers.IsEnabled(model.Provider))
            {
                skipped.Add($"{model.Key}: provider '{model.Provider}' is not enabled");
                continue;
            }

            // Scores only record the caller's order; the engine runs candidates as listed.
            var score = Math.Round(1.0 - (candidates.Count * 0.01), 4);
            candidates.Add(new RouteCandidate(model, score, [reason], new Dictionary<string, double> { ["position"] = candidates.Count }));
        }

        if (candidates.Count == 0)
        {
            throw RpcErrors.Create(StatusCode.FailedPrecondition, "NO_MODEL_AVAILABLE",
                $"No model in the request's chain can be used here: {string.Join("; ", skipped)}.",
                new Dictionary<string, string> { ["model"] = requested.Key });
        }

        var reasons = new List<string> { $"model named by the caller: {requested.Key}" };
        reasons.AddRange(skipped.Select(s => "skipped " + s));
        var task = call.Task with
        {
            // Part of the cache key: an answer for one model is never served for a request naming another.
            ModelPreferences = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [requested.Provider] = requested.Id },
        };
        return new RoutePlan
        {
            Task = task,
            Analysis = analyzer.Analyze(task),
            Strategy = Strategy.Single,
            Candidates = candidates,
            Confidence = 1,
            Reasons = reasons,
        };
    }
}
