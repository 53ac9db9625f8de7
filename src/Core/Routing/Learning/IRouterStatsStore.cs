namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Per-model and per-(model, task type) outcome statistics and the execution → model memory the Feedback RPC needs. Shared
/// across replicas when Redis is configured (<see cref="RedisRouterStatsStore"/>); otherwise one
/// process's memory (<see cref="InMemoryRouterStatsStore"/>).
/// </summary>
internal interface IRouterStatsStore
{
    /// <summary>"redis" or "in-process".</summary>
    string Kind { get; }

    /// <summary>Statistics for the given model keys; models never seen get <see cref="ModelStats.Empty"/>.</summary>
    ValueTask<IReadOnlyDictionary<string, ModelStats>> GetAsync(IReadOnlyCollection<string> modelKeys, CancellationToken cancellationToken);

    ValueTask UpdateAsync(string modelKey, StatsUpdate update, CancellationToken cancellationToken);

    /// <summary>
    /// Remembers which model answered an execution, on which task type (<see cref="LearningKeys.TaskClass(TaskProfile)"/>)
    /// and for whom, for later feedback. Bounded in size and age.
    /// </summary>
    ValueTask RememberExecutionAsync(string executionId, string modelKey, string ownerId, string taskClass, CancellationToken cancellationToken);

    /// <summary>The model and owner of <paramref name="executionId"/>, or null when unknown or expired.</summary>
    ValueTask<RememberedExecution?> FindExecutionAsync(string executionId, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically marks the execution as rated; false when it already was, so one execution moves
    /// the statistics once however often its rating is sent.
    /// </summary>
    ValueTask<bool> TryMarkRatedAsync(string executionId, CancellationToken cancellationToken);
}

/// <summary>
/// An execution as the Feedback RPC sees it: the model that answered, the principal it answered and
/// the task type its rating teaches (empty when unknown: the rating then updates the model's shared
/// statistics only).
/// </summary>
internal readonly record struct RememberedExecution(string ModelKey, string OwnerId, string TaskClass = "");
