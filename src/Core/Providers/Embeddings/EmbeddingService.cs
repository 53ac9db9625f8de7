using System.Diagnostics;
using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Providers.Embeddings;

/// <summary>
/// Embeddings on Monkey Coder: the named catalog embedding model (never routed: an embedding space
/// is the model's own, so a fallback would mix vectors), the key's allow-list, one provider call, and
/// a usage event like an execution's (input tokens, cost, one attempt) queued for the usage store
/// and added to the call's limits charge, so every embedded token is recorded once and charged.
/// </summary>
internal sealed class EmbeddingService(ModelCatalog catalog, ProviderRegistry providers, EmbeddingClient client, UsageQueue usage, TimeProvider time)
{
    public async Task<(CatalogEmbeddingModel Model, EmbeddingResult Result)> EmbedAsync(
        string modelName, IReadOnlyList<string> inputs, int? dimensions, CallerIdentity caller, UsageCharge charge, CancellationToken cancellationToken)
    {
        var model = catalog.FindEmbedding(modelName)
            ?? throw RpcErrors.Create(StatusCode.NotFound, "MODEL_NOT_FOUND",
                $"The embedding model '{modelName}' does not exist. Embedding models: {string.Join(", ", catalog.EmbeddingModels.Select(m => m.Id))}.",
                new Dictionary<string, string> { ["model"] = modelName });
        if (caller.AllowedModels is { Count: > 0 } allowed && !allowed.Any(entry =>
            string.Equals(entry, model.Provider, StringComparison.OrdinalIgnoreCase) || string.Equals(entry, model.Id, StringComparison.OrdinalIgnoreCase)
            || string.Equals(entry, model.Provider + "/" + model.Id, StringComparison.OrdinalIgnoreCase)))
        {
            throw ModelAllowList.Refused(modelName, allowed);
        }

        if (!providers.IsEnabled(model.Provider))
        {
            throw RpcErrors.Create(StatusCode.FailedPrecondition, "NO_MODEL_AVAILABLE",
                $"The provider of embedding model '{model.Id}' ({model.Provider}) is not enabled on this deployment.",
                new Dictionary<string, string> { ["model"] = model.Id, ["provider"] = model.Provider });
        }

        var createdAt = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        var result = await client.EmbedAsync(model, inputs, dimensions, cancellationToken);
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var cost = model.CostOf(result.InputTokens);
        var record = new UsageEvent
        {
            ExecutionId = RouterApi.NewExecutionId(),
            CreatedAt = createdAt,
            PrincipalId = caller.PrincipalId,
            ApiKeyId = caller.ApiKeyId,
            Provider = model.Provider,
            Model = model.Id,
            Status = (int)V1.ExecutionStatus.Completed,
            InputTokens = result.InputTokens,
            CostUsd = cost,
            BilledInputTokens = result.InputTokens,
            BilledCostUsd = cost,
            LatencyMs = latency,
            Attempts = [new UsageAttempt(model.Provider, model.Id, "ok", latency, null, result.InputTokens, 0, cost)],
        };
        charge.Add(record);
        usage.Enqueue(record);
        return (model, result);
    }
}
