using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Execution.Recovery;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution.Strategies;

/// <summary>
/// <c>single</c>: the first candidate, retried on transient failures, then failing over down the
/// ordered list. Streaming holds back until a candidate's first content, so failures before it
/// fail over unseen. A break after content was delivered is recovered (<see cref="ExecutionOptions.StreamRecovery"/>):
/// the same model (retryable fault, once) or the next candidate continues the delivered text, in
/// the prefill or the instruction form (<see cref="PrefillSupport"/>), with any repeated start
/// dropped (<see cref="OverlapTrimmer"/>); past the recovery cap the stream ends with an error,
/// never with a completion. Unary calls read the provider's stream the same way, so they recover too.
/// </summary>
internal sealed partial class SingleStrategy(AttemptRunner runner, PrefillSupport? prefill = null, ILogger<SingleStrategy>? logger = null) : IExecutionStrategy
{
    private readonly PrefillSupport _prefill = prefill ?? new PrefillSupport();
    private readonly ILogger _logger = logger ?? NullLogger<SingleStrategy>.Instance;

    public string Name => ExecutionStrategyNames.Single;

    public async Task<ExecutionOutcome> ExecuteAsync(ExecutionScope scope, CancellationToken cancellationToken)
    {
        if (runner.Options.StreamRecovery)
        {
            // The provider's stream, read to its end here: a break mid-answer is continued, not restarted.
            await foreach (var item in StreamAsync(scope, null, null, cancellationToken))
            {
                if (item.Completed is { } completed)
                {
                    return completed;
                }
            }

            throw scope.FinalFailure();
        }

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
            ToolCalls = response.ToolCalls,
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

    /// <summary>Streams with failover and mid-stream recovery; <paramref name="finish"/> adjusts the final outcome (pipeline adds the earlier steps' usage).</summary>
    internal async IAsyncEnumerable<ExecutionEvent> StreamAsync(
        ExecutionScope scope,
        IReadOnlyList<ChatMessage>? messages,
        Func<ExecutionOutcome, ExecutionOutcome>? finish,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = runner.Options;
        var firstAttempt = scope.Attempts.Count;
        var delivered = new StringBuilder();
        var recoveries = 0;
        var brokeOn = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        ProviderException? broken = null;
        TimeSpan? ttft = null;
        RouteCandidate? again = null;
        ContinuationForm? forced = null;
        using var candidates = scope.Eligible().GetEnumerator();
        while (true)
        {
            RouteCandidate candidate;
            if (again is not null)
            {
                candidate = again;
                again = null;
            }
            else if (candidates.MoveNext())
            {
                candidate = candidates.Current;
            }
            else
            {
                break;
            }

            var request = ProviderRequests.For(scope.Plan, candidate, messages, runner.Tokens);
            ContinuationForm? form = null;
            if (delivered.Length > 0)
            {
                form = forced ?? _prefill.FormFor(candidate.Model);
                forced = null;
                request = ContinuationRequests.Build(request, delivered.ToString(), form.Value);

                // Recovery cost cap: spent so far + this continuation's worst case (its whole input, the rest of
                // the answer's max_tokens) must fit the call's ceiling; else a cheaper later candidate may, or the break stands.
                var remaining = Math.Max(1, request.MaxTokens - runner.Tokens.Count(delivered.ToString()));
                var worstCase = candidate.Model.CostOf(new TokenUsage(runner.Tokens.Count(request), remaining));
                if (!scope.Affords(worstCase))
                {
                    Log.RecoveryOverCeiling(_logger, scope.ExecutionId, candidate.Model.Key, scope.SpentUsd, worstCase, scope.CostCeilingUsd ?? 0);
                    continue;
                }
            }

            var (stream, result) = await runner.OpenStreamAsync(scope, candidate, request, cancellationToken);
            if (stream is null)
            {
                if (form == ContinuationForm.Prefill && result.Failure?.ErrorClass == ProviderErrorClass.PrefillRejected)
                {
                    // Retried at once in the instruction form, and remembered; the caller never sees this 400.
                    _prefill.Rejected(candidate.Model);
                    Log.PrefillRejected(_logger, candidate.Model.Key);
                    again = candidate;
                    forced = ContinuationForm.Instruction;
                    continue;
                }

                if (result.Next == FailureAction.Stop)
                {
                    throw result.Failure!;
                }

                continue;
            }

            // Committed: content from this model reaches the caller from here on.
            var toolCallStarted = false;
            await using (stream)
            {
                ttft ??= runner.Time.GetElapsedTime(scope.StartedTimestamp);
                var trimmer = form is { } f ? new OverlapTrimmer(ContinuationRequests.Overlap(delivered.ToString(), f)) : null;
                var current = stream.First;
                while (true)
                {
                    if (current.IsFinal)
                    {
                        if (trimmer?.Flush() is { Length: > 0 } tail)
                        {
                            delivered.Append(tail);
                            stream.Deliver(tail);
                            yield return ExecutionEvent.Content(tail, candidate.Model);
                        }

                        var attempt = await runner.CompleteStreamAsync(scope, stream, current);
                        var outcome = Outcome(scope, candidate.Model, attempt, current.FinishReason, delivered.ToString(), ttft, firstAttempt, recoveries)
                            with { ToolCalls = stream.ToolCalls.Build() };
                        if (recoveries > 0)
                        {
                            Log.Recovered(_logger, scope.ExecutionId, candidate.Model.Key, recoveries);
                        }

                        yield return ExecutionEvent.Done(finish is null ? outcome : finish(outcome));
                        yield break;
                    }

                    if (!string.IsNullOrEmpty(current.Delta))
                    {
                        var text = trimmer is null ? current.Delta : trimmer.Push(current.Delta);
                        if (text.Length > 0)
                        {
                            delivered.Append(text);
                            stream.Deliver(text);
                            yield return ExecutionEvent.Content(text, candidate.Model);
                        }
                    }

                    if (current.ToolCall is { } call)
                    {
                        yield return ExecutionEvent.ToolCallPart(call, candidate.Model);
                    }

                    (current, broken) = await runner.ReadNextAsync(scope, stream, cancellationToken);
                    if (broken is not null)
                    {
                        toolCallStarted = stream.ToolCalls.Started;
                        break;
                    }
                }
            }

            // The attempt broke after content reached the caller (recorded with its delivered tokens).
            // Only text is continued: once a piece of a tool call went out, a continuation could only
            // produce a different or half call, so the break stands (never a finished-looking half call).
            if (toolCallStarted)
            {
                Log.ToolCallBroken(_logger, scope.ExecutionId, candidate.Model.Key, broken!.ClassName);
                throw broken;
            }

            if (!options.StreamRecovery || recoveries >= options.MaxRecoveriesPerCall || broken!.ErrorClass == ProviderErrorClass.ContentFiltered)
            {
                throw broken!;
            }

            recoveries++;
            // Same model once on a retryable fault (a dropped connection, an in-stream overload); else the next
            // candidate. A stall is treated like a silent upstream: another try would likely cost another stall timeout.
            if (broken.IsTransient && !broken.Silent && broken.ErrorClass != ProviderErrorClass.Stalled && brokeOn.Add(candidate.Model.Key))
            {
                again = candidate;
            }

            Log.Recovering(_logger, scope.ExecutionId, candidate.Model.Key, broken.ClassName, recoveries, again is null ? "next candidate" : "same model");
        }

        throw broken ?? scope.FinalFailure();
    }

    private ExecutionOutcome Outcome(ExecutionScope scope, CatalogModel model, AttemptRecord attempt, V1.FinishReason finishReason, string content, TimeSpan? ttft, int firstAttempt, int recoveries)
    {
        var attempts = scope.Attempts;
        var usage = attempt.Usage;
        var cost = model.CostOf(usage);
        if (recoveries > 0)
        {
            // A recovered answer's usage is the answer's, as if one attempt had written it: the prompt once (the first
            // part's; each continuation's prompt repeats it with the delivered text) plus every part's output, each
            // priced at its own model. Every attempt's full tokens and cost are in the billed total (Attempts), not here.
            var parts = attempts.Skip(firstAttempt)
                .Where(part => part.TimeToFirstToken is not null && part.Outcome != AttemptOutcomes.Cancelled)
                .ToList();
            var prompt = new TokenUsage(parts[0].Usage.InputTokens, 0, parts[0].Usage.Estimated);
            usage = prompt;
            cost = parts[0].Model.CostOf(prompt);
            foreach (var part in parts)
            {
                var output = new TokenUsage(0, part.Usage.OutputTokens, part.Usage.Estimated);
                usage += output;
                cost += part.Model.CostOf(output);
            }
        }

        return new ExecutionOutcome
        {
            ExecutionId = scope.ExecutionId,
            Content = content,
            FinishReason = finishReason,
            Model = model,
            Usage = usage,
            CostUsd = cost,
            Attempts = attempts,
            ProviderTime = ProviderRequests.SumLatency(attempts),
            TimeToFirstToken = ttft,
            Strategy = Name,
            Recovered = recoveries > 0,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.StreamRecoveryOverCeiling, Level = LogLevel.Warning,
            Message = "Execution {ExecutionId}: no continuation on {Model}: {SpentUsd:0.######} USD spent + {WorstCaseUsd:0.######} USD worst case exceeds the call's ceiling of {CeilingUsd:0.######} USD")]
        public static partial void RecoveryOverCeiling(ILogger logger, string executionId, string model, double spentUsd, double worstCaseUsd, double ceilingUsd);

        [LoggerMessage(EventId = Observability.EventIds.StreamRecovering, Level = LogLevel.Warning,
            Message = "Execution {ExecutionId}: stream from {Model} broke ({ErrorClass}); continuing the delivered answer (recovery {Recovery}) on the {Target}")]
        public static partial void Recovering(ILogger logger, string executionId, string model, string errorClass, int recovery, string target);

        [LoggerMessage(EventId = Observability.EventIds.StreamRecovered, Level = LogLevel.Information,
            Message = "Execution {ExecutionId}: answer completed by {Model} after {Recoveries} recovery(ies)")]
        public static partial void Recovered(ILogger logger, string executionId, string model, int recoveries);

        [LoggerMessage(EventId = Observability.EventIds.StreamToolCallBroken, Level = LogLevel.Warning,
            Message = "Execution {ExecutionId}: stream from {Model} broke inside a tool call ({ErrorClass}); not continued")]
        public static partial void ToolCallBroken(ILogger logger, string executionId, string model, string errorClass);

        [LoggerMessage(EventId = Observability.EventIds.PrefillRejected, Level = LogLevel.Information,
            Message = "{Model} rejected an assistant prefill; continuing without it (remembered)")]
        public static partial void PrefillRejected(ILogger logger, string model);
    }
}
