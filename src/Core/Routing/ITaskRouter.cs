namespace MonkeyCoder.Core.Routing;

/// <summary>Produces a plan for a task. Never calls a provider.</summary>
internal interface ITaskRouter
{
    ValueTask<RoutePlan> PlanAsync(TaskRequest task, CancellationToken cancellationToken);
}
