namespace MonkeyCoder.Core.Routing;

/// <summary>Produces a plan for a task. Never calls a provider.</summary>
internal interface ITaskRouter
{
    ValueTask<RoutePlan> PlanAsync(TaskRequest task, CancellationToken cancellationToken);

    /// <summary>A plan honouring the caller's pinned models and their fallback chains (<see cref="RoutePins"/>).</summary>
    internal ValueTask<RoutePlan> PlanAsync(TaskRequest task, RoutePins pins, CancellationToken cancellationToken);
}
