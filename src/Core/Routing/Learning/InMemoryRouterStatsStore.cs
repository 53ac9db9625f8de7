using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Router statistics in this process only (the embedded default without REDIS_URL); saved to and
/// loaded from a file only when the operator opts in (<see cref="RoutingOptions.SnapshotPath"/>,
/// <see cref="RouterStatsSnapshot"/>). Updates are
/// atomic per model (compare-and-swap of immutable snapshots). The execution memory keeps at most
/// <see cref="RoutingOptions.ExecutionMemoryCapacity"/> entries, evicting the oldest first.
/// </summary>
internal sealed class InMemoryRouterStatsStore(IOptions<RoutingOptions> options, TimeProvider time) : IRouterStatsStore
{
    private readonly RoutingOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, ModelStats> _stats = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (RememberedExecution Execution, DateTimeOffset Expires)> _executions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _rated = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _executionOrder = new();

    public string Kind => "in-process";

    public ValueTask<IReadOnlyDictionary<string, ModelStats>> GetAsync(IReadOnlyCollection<string> modelKeys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, ModelStats>(modelKeys.Count, StringComparer.OrdinalIgnoreCase);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var key in modelKeys)
        {
            result[key] = (_stats.GetValueOrDefault(key) ?? ModelStats.Empty).DecayedTo(now, _options.DecayHalfLifeSeconds);
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, ModelStats>>(result);
    }

    public ValueTask UpdateAsync(string modelKey, StatsUpdate update, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        _stats.AddOrUpdate(modelKey,
            static (_, a) => ModelStats.Empty.Apply(a.update, a.decay, a.now, a.halfLife),
            static (_, current, a) => current.Apply(a.update, a.decay, a.now, a.halfLife),
            (update, decay: _options.Decay, now, halfLife: _options.DecayHalfLifeSeconds));
        return ValueTask.CompletedTask;
    }

    /// <summary>Every statistic as stored (not decayed to now: each carries its own update time), for the snapshot file.</summary>
    public IReadOnlyDictionary<string, ModelStats> Export() => new Dictionary<string, ModelStats>(_stats, StringComparer.OrdinalIgnoreCase);

    /// <summary>Loads statistics saved by <see cref="Export"/>; a key already learned in this process keeps what it has.</summary>
    public void Import(IReadOnlyDictionary<string, ModelStats> saved)
    {
        foreach (var (key, value) in saved)
        {
            _stats.TryAdd(key, value);
        }
    }

    public ValueTask RememberExecutionAsync(string executionId, string modelKey, string ownerId, string taskClass, CancellationToken cancellationToken)
    {
        _executions[executionId] = (new RememberedExecution(modelKey, ownerId, taskClass), time.GetUtcNow().AddHours(_options.ExecutionMemoryHours));
        _executionOrder.Enqueue(executionId);
        while (_executions.Count > _options.ExecutionMemoryCapacity && _executionOrder.TryDequeue(out var oldest))
        {
            _executions.TryRemove(oldest, out _);
            _rated.TryRemove(oldest, out _);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<RememberedExecution?> FindExecutionAsync(string executionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<RememberedExecution?>(_executions.TryGetValue(executionId, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Execution : null);

    public ValueTask<bool> TryMarkRatedAsync(string executionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_rated.TryAdd(executionId, 0));
}
