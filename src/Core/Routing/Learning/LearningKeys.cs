namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Statistics are kept twice per observation: per model ("provider/id", the shared prior every task
/// type backs off to) and per model and task type ("provider/id|code_generation"), so learning on
/// one kind of task informs another without overwriting it.
/// </summary>
internal static class LearningKeys
{
    /// <summary>The task type learning is kept by: the analysed context (from the task type or the prompt).</summary>
    public static string TaskClass(TaskProfile analysis) => TaskClass(analysis.Context);

    public static string TaskClass(V1.ContextType context) => context switch
    {
        V1.ContextType.CodeGeneration => "code_generation",
        V1.ContextType.Architecture => "architecture",
        V1.ContextType.Security => "security",
        V1.ContextType.Testing => "testing",
        V1.ContextType.Debugging => "debugging",
        V1.ContextType.Documentation => "documentation",
        V1.ContextType.Review => "review",
        V1.ContextType.Performance => "performance",
        _ => "general",
    };

    /// <summary>"provider/id|task".</summary>
    public static string ForTask(string modelKey, string taskClass) => modelKey + "|" + taskClass;

    /// <summary>
    /// Applies one observation to the model's shared statistics and, when the task type is known,
    /// to its per-task statistics. The two updates (different keys, independent) are sent together, so
    /// a shared store (Redis) costs one round trip per observation rather than two in a row.
    /// </summary>
    public static async ValueTask UpdateForTaskAsync(this IRouterStatsStore store, string modelKey, string taskClass, StatsUpdate update, CancellationToken cancellationToken)
    {
        var shared = store.UpdateAsync(modelKey, update, cancellationToken);
        if (taskClass.Length > 0)
        {
            var perTask = store.UpdateAsync(ForTask(modelKey, taskClass), update, cancellationToken).AsTask();
            try
            {
                await shared;
            }
            finally
            {
                await perTask;
            }

            return;
        }

        await shared;
    }
}
