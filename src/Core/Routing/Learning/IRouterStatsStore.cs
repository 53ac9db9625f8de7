namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Per-model outcome statistics and the execution → model memory the Feedback RPC needs. Shared
/// across replicas when Redis is configured (<see cref="RedisRouterStatsStore"/>); otherwise one
/// process's memory (<see cref="InMemoryRouterStatsStore"/>).
/// </summary>
public interface IRouterStatsStore
{
    /// <summary>"redis" or "in-process".</summary>
    string Kind { get; }

    /// <summary>Statistics for the given model keys; models never seen get <see cref="ModelStats.Empty"/>.</summary>
    ValueTask<IReadOnlyDictionary<string, ModelStats>> GetAsync(IReadOnlyCollection<string> modelKeys, CancellationToken cancellationToken);

    ValueTask UpdateAsync(string modelKey, StatsUpdate update, CancellationToken cancellationToken);

    /// <summary>Remembers which model answered an execution, for later feedback. Bounded in size and age.</summary>
    ValueTask RememberExecutionAsync(string executionId, string modelKey, CancellationToken cancellationToken);

    /// <summary>The model key that answered <paramref name="executionId"/>, or null when unknown or expired.</summary>
    ValueTask<string?> FindExecutionAsync(string executionId, CancellationToken cancellationToken);
}
