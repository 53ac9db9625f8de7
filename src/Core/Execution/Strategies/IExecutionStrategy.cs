using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution.Strategies;

/// <summary>
/// One way of running a plan. Implementations are small sealed classes named by a constant in
/// <see cref="ExecutionStrategyNames"/>; <see cref="ExecutionEngine"/> picks one per plan.
/// </summary>
internal interface IExecutionStrategy
{
    string Name { get; }

    Task<ExecutionOutcome> ExecuteAsync(ExecutionScope scope, CancellationToken cancellationToken);

    /// <summary>Content deltas, then exactly one completion; a failure ends the sequence with an exception.</summary>
    IAsyncEnumerable<ExecutionEvent> StreamAsync(ExecutionScope scope, CancellationToken cancellationToken);
}

internal static class ExecutionStrategyNames
{
    public const string Single = "single";
    public const string Quantum = "quantum";
    public const string Pipeline = "pipeline";

    public static string Of(Strategy strategy) => strategy switch
    {
        Strategy.Quantum => Quantum,
        Strategy.Pipeline => Pipeline,
        _ => Single,
    };
}
