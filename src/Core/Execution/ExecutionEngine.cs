using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Runs a plan: tries candidates in order and fails over on provider failures. Streaming holds
/// back until a provider's first content arrives, so a failure before that fails over unseen;
/// after content has reached the caller, a failure ends the stream with an error, never with a
/// completion. Owns "never report a truncated answer as success".
/// </summary>
public sealed partial class ExecutionEngine(ProviderRegistry providers, ProviderHealthMonitor health, TokenCounter tokens, TimeProvider time, ILogger<ExecutionEngine> logger,
    IEnumerable<IAttemptObserver>? observers = null)
{
    private readonly IAttemptObserver[] _observers = observers?.ToArray() ?? [];

    public async Task<ExecutionOutcome> ExecuteAsync(RoutePlan plan, string executionId, CancellationToken cancellationToken)
    {
        var attempts = new List<AttemptRecord>();
        ProviderException? last = null;
        var started = time.GetTimestamp();
        foreach (var candidate in Eligible(plan, attempts))
        {
            var model = candidate.Model;
            var request = RequestFor(plan, model);
            var attemptStart = time.GetTimestamp();
            try
            {
                var response = await providers.Get(model.Provider).CompleteAsync(request, cancellationToken);
                var latency = time.GetElapsedTime(attemptStart);
                health.RecordSuccess(model.Provider);
                attempts.Add(Observed(new AttemptRecord(model, "ok", latency, latency, response.Usage)));
                return new ExecutionOutcome
                {
                    ExecutionId = executionId,
                    Content = response.Content,
                    FinishReason = response.FinishReason,
                    Model = model,
                    Usage = response.Usage,
                    CostUsd = model.CostOf(response.Usage),
                    Attempts = attempts,
                    ProviderTime = Sum(attempts),
                    TimeToFirstToken = time.GetElapsedTime(started),
                };
            }
            catch (ProviderException ex)
            {
                last = ex;
                attempts.Add(Failed(model, ex, time.GetElapsedTime(attemptStart)));
                if (!CanFailOver(ex))
                {
                    throw;
                }

                Log.FailingOver(logger, model.Key, ex.ClassName);
            }
        }

        throw last ?? new ProviderException("none", ProviderErrorClass.Unknown, "No candidate could be tried.");
    }

    public async IAsyncEnumerable<ExecutionEvent> StreamAsync(RoutePlan plan, string executionId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var attempts = new List<AttemptRecord>();
        ProviderException? last = null;
        var started = time.GetTimestamp();
        foreach (var candidate in Eligible(plan, attempts))
        {
            var model = candidate.Model;
            var attemptStart = time.GetTimestamp();
            var stream = providers.Get(model.Provider).StreamAsync(RequestFor(plan, model), cancellationToken).GetAsyncEnumerator(cancellationToken);
            ProviderStreamEvent first;
            try
            {
                first = await FirstContentAsync(stream, model);
            }
            catch (ProviderException ex)
            {
                await stream.DisposeAsync();
                last = ex;
                attempts.Add(Failed(model, ex, time.GetElapsedTime(attemptStart)));
                if (!CanFailOver(ex))
                {
                    throw;
                }

                Log.FailingOver(logger, model.Key, ex.ClassName);
                continue;
            }

            // Committed: content from this model reaches the caller from here on.
            await using (stream)
            {
                var ttft = time.GetElapsedTime(started);
                var attemptTtft = time.GetElapsedTime(attemptStart);
                var content = new System.Text.StringBuilder();
                var current = first;
                while (true)
                {
                    if (current.IsFinal)
                    {
                        var usage = current.Usage ?? default;
                        health.RecordSuccess(model.Provider);
                        attempts.Add(Observed(new AttemptRecord(model, "ok", time.GetElapsedTime(attemptStart), attemptTtft, usage)));
                        yield return ExecutionEvent.Done(new ExecutionOutcome
                        {
                            ExecutionId = executionId,
                            Content = content.ToString(),
                            FinishReason = current.FinishReason,
                            Model = model,
                            Usage = usage,
                            CostUsd = model.CostOf(usage),
                            Attempts = attempts,
                            ProviderTime = Sum(attempts),
                            TimeToFirstToken = ttft,
                        });
                        yield break;
                    }

                    if (!string.IsNullOrEmpty(current.Delta))
                    {
                        content.Append(current.Delta);
                        yield return ExecutionEvent.Content(current.Delta);
                    }

                    if (!await stream.MoveNextAsync())
                    {
                        throw new ProviderException(model.Provider, ProviderErrorClass.StreamCut,
                            "The stream ended before its final event; the answer is incomplete.");
                    }

                    current = stream.Current;
                }
            }
        }

        throw last ?? new ProviderException("none", ProviderErrorClass.Unknown, "No candidate could be tried.");
    }

    /// <summary>Reads until the first content (or an immediate final event) without yielding anything.</summary>
    private static async Task<ProviderStreamEvent> FirstContentAsync(IAsyncEnumerator<ProviderStreamEvent> stream, CatalogModel model)
    {
        while (await stream.MoveNextAsync())
        {
            var current = stream.Current;
            if (current.IsFinal || !string.IsNullOrEmpty(current.Delta))
            {
                return current;
            }
        }

        throw new ProviderException(model.Provider, ProviderErrorClass.StreamCut, "The stream ended before any content.");
    }

    /// <summary>
    /// Candidates in plan order, skipping ones a failure ruled out: after a context-length failure
    /// only models with a larger window remain.
    /// </summary>
    private static IEnumerable<RouteCandidate> Eligible(RoutePlan plan, List<AttemptRecord> attempts)
    {
        foreach (var candidate in plan.Candidates)
        {
            var minWindow = attempts
                .Where(a => a.Outcome == ErrorClassNames.Of(ProviderErrorClass.ContextLengthExceeded))
                .Select(a => a.Model.ContextWindow)
                .DefaultIfEmpty(0)
                .Max();
            if (minWindow > 0 && candidate.Model.ContextWindow <= minWindow)
            {
                continue;
            }

            yield return candidate;
        }
    }

    private static bool CanFailOver(ProviderException ex) =>
        ex.ErrorClass is not (ProviderErrorClass.ContentFiltered or ProviderErrorClass.InvalidRequest);

    private ProviderRequest RequestFor(RoutePlan plan, CatalogModel model) => new()
    {
        Model = model,
        Messages = PromptBuilder.Build(plan.Task, plan.Analysis.Persona, model, tokens),
        MaxTokens = Math.Min(plan.Task.MaxTokens, model.MaxOutputTokens > 0 ? model.MaxOutputTokens : plan.Task.MaxTokens),
        Temperature = model.Reasoning ? null : plan.Task.Temperature,
        TaskType = plan.Task.TaskType,
    };

    private AttemptRecord Failed(CatalogModel model, ProviderException ex, TimeSpan latency)
    {
        health.RecordFailure(model.Provider, ex.ClassName);
        return Observed(new(model, ex.ClassName, latency, null, default, ex.ProviderCode is null ? ex.Message : $"{ex.ProviderCode}: {ex.Message}"));
    }

    private AttemptRecord Observed(AttemptRecord attempt)
    {
        foreach (var observer in _observers)
        {
            observer.OnAttempt(attempt);
        }

        return attempt;
    }

    private static TimeSpan Sum(List<AttemptRecord> attempts)
    {
        var total = TimeSpan.Zero;
        foreach (var attempt in attempts)
        {
            total += attempt.Latency;
        }

        return total;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.FailingOver, Level = LogLevel.Warning,
            Message = "Attempt on {Model} failed with {ErrorClass}; failing over to the next candidate")]
        public static partial void FailingOver(ILogger logger, string model, string errorClass);
    }
}
