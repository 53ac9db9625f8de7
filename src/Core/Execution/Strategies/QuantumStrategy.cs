using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution.Strategies;

/// <summary>
/// <c>quantum</c>: runs the top N candidates in parallel ("superposition") and collapses to one
/// answer. A variant whose model fails takes the next unused candidate. Collapse rules:
/// <list type="bullet">
/// <item>first success — the first answer wins; the others are cancelled at once;</item>
/// <item>best score — every variant finishes; the highest route score × answer quality wins;</item>
/// <item>consensus — the first answer a strict majority of variants agrees with (word-set Jaccard
/// ≥ the threshold) wins as soon as that majority exists, and the rest are cancelled; without a
/// majority, the answer with the highest mean agreement wins if it reaches the threshold, else best score.</item>
/// </list>
/// Accounting: every variant's attempts are recorded. Only the winner is billed as the completion
/// (the outcome's usage and cost). Losers that finished keep their provider-reported usage on
/// their attempt with outcome "discarded"; losers cancelled mid-flight are recorded "cancelled"
/// with estimated usage (prompt tokens by tokenizer, output tokens of any text received: 0 for a
/// unary call). Those tokens are what the upstream providers may still charge us for: they
/// appear on the attempts for cost reporting and are not charged to the caller as a completion.
/// Streaming cannot know the winner before the collapse, so it streams the winner's answer after it.
/// </summary>
internal sealed class QuantumStrategy(AttemptRunner runner) : IExecutionStrategy
{
    /// <summary>Characters per delta when the collapsed answer is streamed.</summary>
    private const int StreamChunkChars = 256;

    public string Name => ExecutionStrategyNames.Quantum;

    private sealed record Variant(RouteCandidate Candidate, ProviderResponse Response, AttemptRecord Attempt, int Order);

    public async Task<ExecutionOutcome> ExecuteAsync(ExecutionScope scope, CancellationToken cancellationToken)
    {
        var plan = scope.Plan;
        var candidates = scope.Eligible().ToList();
        if (candidates.Count == 0)
        {
            throw scope.FinalFailure();
        }

        var n = Math.Clamp(plan.ParallelVariants, 1, candidates.Count);
        var spares = new ConcurrentQueue<RouteCandidate>(candidates.Skip(n));
        // Null: each variant builds its own messages, with history trimmed to its model's window.
        IReadOnlyList<ChatMessage>? messages = null;
        var start = runner.Time.GetTimestamp();
        var successes = new List<Variant>();
        Variant? winner = null;
        var notes = new List<string>();

        using var variantsCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = candidates.Take(n).Select((c, i) => RunVariantAsync(scope, c, i, spares, messages, variantsCts.Token, cancellationToken)).ToList();
        try
        {
            var pending = new List<Task<Variant?>>(tasks);
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                if (await done is not { } variant)
                {
                    continue;
                }

                successes.Add(variant);
                if (plan.CollapseStrategy == CollapseStrategy.FirstSuccess)
                {
                    winner = variant;
                    notes.Add($"first success: {variant.Candidate.Model.Key}");
                    break;
                }

                if (plan.CollapseStrategy == CollapseStrategy.Consensus && Majority(successes, n, plan.Task.ConsensusThreshold) is { } agreed)
                {
                    winner = agreed;
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"consensus: a majority of {n} variants agree with {agreed.Candidate.Model.Key} (threshold {plan.Task.ConsensusThreshold:0.00})"));
                    break;
                }
            }
        }
        finally
        {
            // Cancel the losers at once, then wait for them to record their attempts.
            await variantsCts.CancelAsync();
            await Task.WhenAll(tasks.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)));
        }

        if (successes.Count == 0)
        {
            throw scope.FinalFailure();
        }

        if (winner is null)
        {
            if (plan.CollapseStrategy == CollapseStrategy.Consensus)
            {
                var (best, support) = MostSupported(successes);
                if (support >= plan.Task.ConsensusThreshold)
                {
                    winner = best;
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"consensus: {best.Candidate.Model.Key} has mean agreement {support:0.00}"));
                }
                else
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"no consensus (best mean agreement {support:0.00} < {plan.Task.ConsensusThreshold:0.00}): best score"));
                }
            }

            if (winner is null)
            {
                winner = successes.OrderByDescending(Quality).ThenBy(v => v.Order).First();
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"best score: {winner.Candidate.Model.Key} ({Quality(winner):0.000})"));
            }
        }

        // A loser that answered between the collapse and its cancellation is a success nobody read:
        // it is discarded like the others, never a second "ok".
        foreach (var late in tasks.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).OfType<Variant>())
        {
            if (!successes.Contains(late))
            {
                successes.Add(late);
            }
        }

        foreach (var loser in successes.Where(v => v != winner))
        {
            scope.Replace(loser.Attempt, loser.Attempt with { Outcome = AttemptOutcomes.Discarded });
        }

        var attempts = scope.Attempts;
        var model = winner.Candidate.Model;
        return new ExecutionOutcome
        {
            ExecutionId = scope.ExecutionId,
            Content = winner.Response.Content,
            ToolCalls = winner.Response.ToolCalls,
            FinishReason = winner.Response.FinishReason,
            Model = model,
            Usage = winner.Response.Usage,
            CostUsd = model.CostOf(winner.Response.Usage),
            Attempts = attempts,
            // Variants overlap: provider time is the wall time of the parallel phase.
            ProviderTime = runner.Time.GetElapsedTime(start),
            TimeToFirstToken = runner.Time.GetElapsedTime(scope.StartedTimestamp),
            Strategy = Name,
            Notes = notes,
        };
    }

    public async IAsyncEnumerable<ExecutionEvent> StreamAsync(ExecutionScope scope, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var outcome = await ExecuteAsync(scope, cancellationToken);
        var content = outcome.Content;
        for (var i = 0; i < content.Length; i += StreamChunkChars)
        {
            yield return ExecutionEvent.Content(content.Substring(i, Math.Min(StreamChunkChars, content.Length - i)), outcome.Model);
        }

        // The winner's tool calls, each as one complete piece (stream consumers assemble pieces by index).
        for (var i = 0; i < outcome.ToolCalls.Count; i++)
        {
            var call = outcome.ToolCalls[i];
            yield return ExecutionEvent.ToolCallPart(new ToolCallDelta(i, call.Id, call.Name, call.ArgumentsJson), outcome.Model);
        }

        yield return ExecutionEvent.Done(outcome with { TimeToFirstToken = runner.Time.GetElapsedTime(scope.StartedTimestamp) });
    }

    private async Task<Variant?> RunVariantAsync(
        ExecutionScope scope, RouteCandidate first, int order, ConcurrentQueue<RouteCandidate> spares,
        IReadOnlyList<ChatMessage>? messages, CancellationToken variantToken, CancellationToken callerToken)
    {
        // Off the caller's thread at once, so the variants really start together.
        await Task.Yield();
        var candidate = first;
        while (candidate is not null)
        {
            if (!scope.IsRuledOut(candidate.Model))
            {
                CandidateResult result;
                try
                {
                    result = await runner.RunAsync(scope, candidate, ProviderRequests.For(scope.Plan, candidate, messages, runner.Tokens), variantToken);
                }
                catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
                {
                    // A loser, cancelled after the collapse; its attempt is recorded "cancelled".
                    return null;
                }

                if (result.Succeeded)
                {
                    return new Variant(candidate, result.Response!, result.Attempt!, order);
                }

                if (result.Next == FailureAction.Stop)
                {
                    return null;
                }
            }

            candidate = spares.TryDequeue(out var next) ? next : null;
        }

        return null;
    }

    /// <summary>Route score × answer quality: a cut or filtered answer ranks below a complete one.</summary>
    private static double Quality(Variant v)
    {
        if (string.IsNullOrWhiteSpace(v.Response.Content) && v.Response.ToolCalls.Count == 0)
        {
            return 0;
        }

        var finish = v.Response.FinishReason switch
        {
            FinishReason.Stop or FinishReason.ToolCalls => 1.0,
            FinishReason.Length => 0.85,
            _ => 0.5,
        };
        return v.Candidate.Score * finish;
    }

    private static Variant? Majority(List<Variant> successes, int variants, double threshold)
    {
        foreach (var candidate in successes)
        {
            var agreeing = successes.Count(other => Similarity(candidate.Response.Content, other.Response.Content) >= threshold);
            if (agreeing * 2 > variants)
            {
                return candidate;
            }
        }

        return null;
    }

    private static (Variant Best, double Support) MostSupported(List<Variant> successes)
    {
        if (successes.Count == 1)
        {
            return (successes[0], 0);
        }

        var best = successes[0];
        var bestSupport = -1.0;
        foreach (var v in successes)
        {
            var support = successes.Where(o => o != v).Average(o => Similarity(v.Response.Content, o.Response.Content));
            if (support > bestSupport)
            {
                best = v;
                bestSupport = support;
            }
        }

        return (best, bestSupport);
    }

    /// <summary>Jaccard similarity of the answers' lower-cased word sets, 0–1.</summary>
    internal static double Similarity(string a, string b)
    {
        var wa = Words(a);
        var wb = Words(b);
        if (wa.Count == 0 && wb.Count == 0)
        {
            return 1;
        }

        var intersection = wa.Count(wb.Contains);
        return intersection / (double)(wa.Count + wb.Count - intersection);
    }

    private static HashSet<string> Words(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(w => w.Trim('.', ',', ';', ':', '!', '?', '(', ')', '"', '\'').ToLowerInvariant())
            .Where(w => w.Length > 0)
            .ToHashSet(StringComparer.Ordinal);
}
