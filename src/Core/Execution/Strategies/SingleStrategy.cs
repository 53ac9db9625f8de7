using System.Runtime.CompilerServices;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution.Strategies;

/// <summary>
/// <c>single</c>: the first candidate, retried on transient failures, then failing over down the
/// ordered list. Streaming holds back until a candidate's first content, so failures before it
/// fail over unseen; after it, a failure ends the stream with an error, never with a completion.
/// </summary>
public sealed class SingleStrategy(AttemptRunner runner) : IExecutionStrategy
{
    public string Name => ExecutionStrategyNames.Single;

    public async Task<ExecutionOutcome> ExecuteAsync(ExecutionScope scope, CancellationToken cancellationToken)
    {
        var (response, model) = await CompleteAsync(scope, null, cancellationToken);
        var attempts = scope.Attempts;
        return new ExecutionOutcome
        {
            ExecutionId = scope.ExecutionId,
            Content = response.Content,
            FinishReason = response.FinishReason,
            Model = model,
            Usage = response.Usage,
            CostUsd = model.CostOf(response.Usage),
            Attempts = attempts,
            ProviderTime = ProviderRequests.SumLatency(attempts),
            TimeToFirstToken = runner.Time.GetElapsedTime(scope.StartedTimestamp),
            Strategy = Name,
        };
    }

    public IAsyncEnumerable<ExecutionEvent> StreamAsync(ExecutionScope scope, CancellationToken cancellationToken) =>
        StreamAsync(scope, null, null, cancellationToken);

    /// <summary>Failover over the plan's candidates with the given messages (the plan's prompt when null).</summary>
    internal async Task<(ProviderResponse Response, CatalogModel Model)> CompleteAsync(ExecutionScope scope, IReadOnlyList<ChatMessage>? messages, CancellationToken cancellationToken)
    {
        foreach (var candidate in scope.Eligible())
        {
            var result = await runner.RunAsync(scope, candidate, ProviderRequests.For(scope.Plan, candidate, messages, runner.Tokens), cancellationToken);
            if (result.Succeeded)
            {
                return (result.Response!, candidate.Model);
            }

            if (result.Next == FailureAction.Stop)
            {
                throw result.Failure!;
            }
        }

        throw scope.FinalFailure();
    }

    /// <summary>Streams with failover; <paramref name="finish"/> adjusts the final outcome (pipeline adds the earlier steps' usage).</summary>
    internal async IAsyncEnumerable<ExecutionEvent> StreamAsync(
        ExecutionScope scope,
        IReadOnlyList<ChatMessage>? messages,
        Func<ExecutionOutcome, ExecutionOutcome>? finish,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var candidate in scope.Eligible())
        {
            var (stream, result) = await runner.OpenStreamAsync(scope, candidate, ProviderRequests.For(scope.Plan, candidate, messages, runner.Tokens), cancellationToken);
            if (stream is null)
            {
                if (result.Next == FailureAction.Stop)
                {
                    throw result.Failure!;
                }

                continue;
            }

            // Committed: content from this model reaches the caller from here on.
            await using (stream)
            {
                var ttft = runner.Time.GetElapsedTime(scope.StartedTimestamp);
                var current = stream.First;
                while (true)
                {
                    if (current.IsFinal)
                    {
                        var attempt = await runner.CompleteStreamAsync(scope, stream, current);
                        var attempts = scope.Attempts;
                        var outcome = new ExecutionOutcome
                        {
                            ExecutionId = scope.ExecutionId,
                            Content = stream.Text,
                            FinishReason = current.FinishReason,
                            Model = candidate.Model,
                            Usage = attempt.Usage,
                            CostUsd = candidate.Model.CostOf(attempt.Usage),
                            Attempts = attempts,
                            ProviderTime = ProviderRequests.SumLatency(attempts),
                            TimeToFirstToken = ttft,
                            Strategy = Name,
                        };
                        yield return ExecutionEvent.Done(finish is null ? outcome : finish(outcome));
                        yield break;
                    }

                    if (!string.IsNullOrEmpty(current.Delta))
                    {
                        yield return ExecutionEvent.Content(current.Delta, candidate.Model);
                    }

                    current = await runner.ReadNextAsync(scope, stream, cancellationToken);
                }
            }
        }

        throw scope.FinalFailure();
    }
}
