using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Execution.Strategies;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Runs a plan with the strategy it names (<see cref="ExecutionStrategyNames"/>). Strategies own failover, retries and collapse;
/// <see cref="AttemptRunner"/> owns single attempts. Owns "never report a truncated answer as
/// success": a stream only completes on its provider's final event.
/// </summary>
internal sealed partial class ExecutionEngine(
    IEnumerable<IExecutionStrategy> strategies,
    TimeProvider time,
    ILogger<ExecutionEngine> logger)
{
    private readonly FrozenDictionary<string, IExecutionStrategy> _strategies = strategies.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);

    public async Task<ExecutionOutcome> ExecuteAsync(RoutePlan plan, string executionId, CancellationToken cancellationToken, DateTimeOffset? deadline = null, Action<ExecutionScope>? started = null)
    {
        var scope = new ExecutionScope(plan, executionId, time.GetTimestamp(), deadline);
        started?.Invoke(scope);
        var outcome = await Strategy(plan).ExecuteAsync(scope, cancellationToken);
        await CompletedAsync(outcome);
        return outcome;
    }

    /// <summary>
    /// Streams a plan's answer. <paramref name="started"/> sees the execution's scope as it starts,
    /// so a consumer that stops reading early can still account for the attempts made so far
    /// (<see cref="ExecutionScope.Attempts"/>); a committed attempt cut short by disposal is recorded
    /// "cancelled" before the disposal returns.
    /// </summary>
    public async IAsyncEnumerable<ExecutionEvent> StreamAsync(RoutePlan plan, string executionId, [EnumeratorCancellation] CancellationToken cancellationToken, DateTimeOffset? deadline = null, Action<ExecutionScope>? started = null)
    {
        var scope = new ExecutionScope(plan, executionId, time.GetTimestamp(), deadline);
        started?.Invoke(scope);
        await foreach (var item in Strategy(plan).StreamAsync(scope, cancellationToken))
        {
            if (item.Completed is { } outcome)
            {
                await CompletedAsync(outcome);
            }

            yield return item;
        }
    }

    private IExecutionStrategy Strategy(RoutePlan plan)
    {
        var name = ExecutionStrategyNames.Of(plan.Strategy);
        return _strategies.TryGetValue(name, out var strategy)
            ? strategy
            : throw new InvalidOperationException($"No execution strategy '{name}' is registered.");
    }

    private async ValueTask CompletedAsync(ExecutionOutcome outcome)
    {
        Log.Completed(logger, outcome.ExecutionId, outcome.Strategy, outcome.Model.Key, outcome.Attempts.Count);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.ExecutionCompleted, Level = LogLevel.Debug,
            Message = "Execution {ExecutionId} ({Strategy}) answered by {Model} after {Attempts} attempt(s)")]
        public static partial void Completed(ILogger logger, string executionId, string strategy, string model, int attempts);
    }
}
