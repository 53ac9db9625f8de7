using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// One task, end to end, for every edge (gRPC, REST, OpenAI-compatible): session history in →
/// plan → response cache / single flight → <see cref="ExecutionEngine"/> → usage event (queued,
/// never dropped) and session turns out. Edges map messages; this class owns the order of steps.
/// </summary>
internal sealed partial class TaskExecutor(
    ExecutionEngine engine,
    ModelCatalog catalog,
    IResponseCache cache,
    CacheStatistics cacheStatistics,
    IOptions<Caching.CacheOptions> cacheOptions,
    ISessionStore sessions,
    UsageQueue usage,
    TimeProvider time,
    ILogger<TaskExecutor> logger,
    Routing.Learning.IRouterStatsStore? stats = null)
{
    private readonly SingleFlight<ExecutionOutcome> _flights = new();
    private readonly StreamFlight<ExecutionEvent> _streams = new();

    /// <summary>Identical calls in flight right now (for tests and metrics).</summary>
    public int InFlight => _flights.InFlight + _streams.InFlight;

    /// <summary>Loads the session's prior turns into the task (owner-scoped).</summary>
    public async Task<TaskRequest> WithHistoryAsync(TaskRequest task, CallerIdentity caller, CancellationToken cancellationToken)
    {
        if (task.SessionId.Length == 0)
        {
            return task;
        }

        try
        {
            var turns = await sessions.GetTurnsAsync(caller.PrincipalId, task.SessionId, cancellationToken);
            return turns.Count == 0 ? task : task with
            {
                History = turns.Select(t => new ChatMessage(t.Role == "assistant" ? ChatRole.Assistant : ChatRole.User, t.Content)).ToList(),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.SessionFailed(logger, ex, "read");
            return task;
        }
    }

    /// <summary>Answers are cached per user unless the operator shares them (CACHE_SHARED_ACROSS_USERS).</summary>
    private string? CacheScope(CallerIdentity caller) => cacheOptions.Value.SharedAcrossUsers ? null : caller.PrincipalId;

    public async Task<ExecutionOutcome> ExecuteAsync(RoutePlan plan, string executionId, CallerIdentity caller, CancellationToken cancellationToken, DateTimeOffset? deadline = null, UsageCharge? charge = null)
    {
        var started = time.GetTimestamp();
        var createdAt = time.GetUtcNow();
        var run = new Run { CostCeilingUsd = charge?.CostCeilingUsd };
        // How the flight this caller leads ended: its upstream cost is this caller's, also when the
        // caller left before the flight ended (the flight runs on for the callers who joined it).
        var flightEnded = new TaskCompletionSource<(ExecutionOutcome? Answer, Exception? Failure)>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            ExecutionOutcome outcome;
            if (cacheOptions.Value.Enabled && CacheKey.IsCacheable(plan.Task))
            {
                var key = CacheKey.For(plan.Task, CacheScope(caller));
                if (await FromCacheAsync(key, executionId, cancellationToken) is { } cached)
                {
                    outcome = cached;
                }
                else
                {
                    // The answer is cached inside the flight, before the flight ends: a request arriving
                    // just after it finds the cache, never a gap that starts a second upstream call.
                    run.Shared = true;
                    var (shared, joined) = await _flights.RunAsync(key, async ct =>
                    {
                        run.Led = true;
                        ExecutionOutcome answer;
                        try
                        {
                            answer = await engine.ExecuteAsync(plan, executionId, ct, deadline, run.Started);
                        }
                        catch (Exception ex)
                        {
                            flightEnded.TrySetResult((null, ex));
                            throw;
                        }

                        flightEnded.TrySetResult((answer, null));
                        await StoreAsync(key, answer, ct);
                        return answer;
                    }, cancellationToken);
                    if (joined)
                    {
                        cacheStatistics.JoinedFlight();
                        outcome = shared with { ExecutionId = executionId, CacheHit = true, CostUsd = 0, Attempts = [] };
                    }
                    else
                    {
                        outcome = shared;
                    }
                }
            }
            else
            {
                outcome = await engine.ExecuteAsync(plan, executionId, cancellationToken, deadline, run.Started);
            }

            await CompletedAsync(plan, caller, outcome, createdAt, time.GetElapsedTime(started), charge, cancellationToken);
            return outcome;
        }
        catch (OperationCanceledException) when (run.Led && cancellationToken.IsCancellationRequested)
        {
            // The leader's caller left mid-flight. Its wait ended, not the flight: that runs on for
            // those who joined it (or stops now that nobody waits). The upstream cost is recorded
            // once, charged to this caller, when the flight ends — bounded by the flight's own
            // deadline and attempt timeouts. The caller is gone, so waiting costs it nothing.
            var (answer, failure) = await flightEnded.Task;
            var attempts = answer?.Attempts ?? (failure is null ? [] : run.Scope?.Attempts ?? []);
            RecordEnded(plan, caller, executionId, attempts, ExecutionStatus.Cancelled, "cancelled", createdAt, time.GetElapsedTime(started), charge);
            throw;
        }
        catch (Exception ex)
        {
            RecordFailure(plan, caller, executionId, ex, run, createdAt, time.GetElapsedTime(started), charge);
            throw;
        }
    }

    public async IAsyncEnumerable<ExecutionEvent> StreamAsync(RoutePlan plan, string executionId, CallerIdentity caller, [EnumeratorCancellation] CancellationToken cancellationToken, DateTimeOffset? deadline = null, UsageCharge? charge = null)
    {
        var started = time.GetTimestamp();
        var createdAt = time.GetUtcNow();
        var run = new Run { CostCeilingUsd = charge?.CostCeilingUsd };
        var events = Source(plan, executionId, caller, deadline, run, cancellationToken)
            .OnFailure(ex =>
            {
                run.Recorded = true;
                RecordFailure(plan, caller, executionId, ex, run, createdAt, time.GetElapsedTime(started), charge);
            }, cancellationToken);
        try
        {
            await foreach (var item in events)
            {
                if (item.Completed is { } outcome)
                {
                    run.Recorded = true;
                    await CompletedAsync(plan, caller, outcome, createdAt, time.GetElapsedTime(started), charge, cancellationToken);
                }

                yield return item;
            }
        }
        finally
        {
            // The consumer stopped reading before the stream ended (a client gone, a write that failed):
            // still exactly one usage event, with the attempts made so far. The inner enumerators are
            // disposed by now, so a committed attempt cut short is among them, marked "cancelled".
            if (!run.Recorded)
            {
                RecordEnded(plan, caller, executionId, run.Scope?.Attempts ?? [], ExecutionStatus.Cancelled, "cancelled", createdAt, time.GetElapsedTime(started), charge);
            }
        }
    }

    private async IAsyncEnumerable<ExecutionEvent> Source(RoutePlan plan, string executionId, CallerIdentity caller, DateTimeOffset? deadline, Run run, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!cacheOptions.Value.Enabled || !CacheKey.IsCacheable(plan.Task))
        {
            await foreach (var item in engine.StreamAsync(plan, executionId, cancellationToken, deadline, run.Started))
            {
                yield return item;
            }

            yield break;
        }

        var key = CacheKey.For(plan.Task, CacheScope(caller));
        if (await FromCacheAsync(key, executionId, cancellationToken) is { } cached)
        {
            // Replayed in a few pieces so stream consumers see the same shape as a live answer.
            foreach (var chunk in cached.Content.Chunk(256))
            {
                yield return ExecutionEvent.Content(new string(chunk), cached.Model);
            }

            for (var i = 0; i < cached.ToolCalls.Count; i++)
            {
                var call = cached.ToolCalls[i];
                yield return ExecutionEvent.ToolCallPart(new ToolCallDelta(i, call.Id, call.Name, call.ArgumentsJson), cached.Model);
            }

            yield return ExecutionEvent.Done(cached);
            yield break;
        }

        run.Shared = true;
        await foreach (var (item, joined) in _streams.SubscribeAsync(key, ct =>
        {
            run.Led = true;
            return CachingStream(key, plan, executionId, deadline, run, ct);
        }, cancellationToken))
        {
            if (item.Completed is { } outcome)
            {
                if (joined)
                {
                    cacheStatistics.JoinedFlight();
                    yield return ExecutionEvent.Done(outcome with { ExecutionId = executionId, CacheHit = true, CostUsd = 0, Attempts = [] });
                }
                else
                {
                    yield return item;
                }
            }
            else
            {
                yield return item;
            }
        }
    }

    /// <summary>The upstream stream of a flight; caches the answer before its final event is published.</summary>
    private async IAsyncEnumerable<ExecutionEvent> CachingStream(string key, RoutePlan plan, string executionId, DateTimeOffset? deadline, Run run, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in engine.StreamAsync(plan, executionId, cancellationToken, deadline, run.Started))
        {
            if (item.Completed is { } outcome)
            {
                await StoreAsync(key, outcome, cancellationToken);
            }

            yield return item;
        }
    }

    private async Task<ExecutionOutcome?> FromCacheAsync(string key, string executionId, CancellationToken cancellationToken)
    {
        var answer = await cache.GetAsync(key, cancellationToken);
        if (answer is null || catalog.Find(answer.Model, answer.Provider) is not { } model || !string.Equals(model.Provider, answer.Provider, StringComparison.OrdinalIgnoreCase))
        {
            cacheStatistics.Miss();
            return null;
        }

        cacheStatistics.Hit();
        var usage = new TokenUsage(answer.InputTokens, answer.OutputTokens);
        return new ExecutionOutcome
        {
            ExecutionId = executionId,
            Content = answer.Content,
            ToolCalls = answer.ToolCalls ?? [],
            FinishReason = (FinishReason)answer.FinishReason,
            Model = model,
            Usage = usage,
            CostUsd = 0,
            Attempts = [],
            CacheHit = true,
            TimeToFirstToken = TimeSpan.Zero,
        };
    }

    private ValueTask StoreAsync(string key, ExecutionOutcome outcome, CancellationToken cancellationToken) =>
        cache.SetAsync(key, new CachedAnswer(outcome.Content, (int)outcome.FinishReason, outcome.Model.Provider, outcome.Model.Id,
            outcome.Usage.InputTokens, outcome.Usage.OutputTokens, time.GetUtcNow())
        { ToolCalls = outcome.ToolCalls.Count > 0 ? outcome.ToolCalls : null }, cancellationToken);

    /// <summary>
    /// A completed execution, unary or streamed: its usage event, which model answered it and for
    /// whom (what the Feedback RPC checks and rates), and the session's new turns.
    /// </summary>
    private async Task CompletedAsync(RoutePlan plan, CallerIdentity caller, ExecutionOutcome outcome, DateTimeOffset createdAt, TimeSpan latency, UsageCharge? charge, CancellationToken cancellationToken)
    {
        Record(plan, caller, outcome, createdAt, latency, charge);
        if (stats is not null)
        {
            // Read by a later Feedback, never by this answer: sent with the call's settlement.
            await Calls.CallContext.AfterAnswer(stats.RememberExecutionAsync(outcome.ExecutionId, outcome.Model.Key, caller.PrincipalId, Routing.Learning.LearningKeys.TaskClass(plan.Analysis), CancellationToken.None));
        }

        await AppendTurnsAsync(plan.Task, caller, outcome, cancellationToken);
    }

    private async Task AppendTurnsAsync(TaskRequest task, CallerIdentity caller, ExecutionOutcome outcome, CancellationToken cancellationToken)
    {
        if (task.SessionId.Length == 0)
        {
            return;
        }

        try
        {
            var now = time.GetUtcNow();
            await sessions.AppendAsync(caller.PrincipalId, task.SessionId,
                [new StoredTurn("user", PromptBuilder.UserPrompt(task), now), new StoredTurn("assistant", outcome.Content, now, outcome.Model.Key)],
                CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The answer stands; only the conversation memory missed a turn.
            Log.SessionFailed(logger, ex, "write");
        }
    }

    private void Record(RoutePlan plan, CallerIdentity caller, ExecutionOutcome outcome, DateTimeOffset createdAt, TimeSpan latency, UsageCharge? charge) =>
        Enqueue(charge, new UsageEvent
        {
            ExecutionId = outcome.ExecutionId,
            CreatedAt = createdAt,
            PrincipalId = caller.PrincipalId,
            ApiKeyId = caller.ApiKeyId,
            TaskType = (int)plan.Task.TaskType,
            Strategy = (int)plan.Strategy,
            Provider = outcome.Model.Provider,
            Model = outcome.Model.Id,
            Status = (int)ExecutionStatus.Completed,
            InputTokens = outcome.Usage.InputTokens,
            OutputTokens = outcome.Usage.OutputTokens,
            CostUsd = outcome.CacheHit ? 0 : outcome.CostUsd,
            CachedInputTokens = outcome.Usage.CachedInputTokens,
            CacheWriteInputTokens = outcome.Usage.CacheWriteInputTokens,
            BilledInputTokens = outcome.Billed.InputTokens,
            BilledOutputTokens = outcome.Billed.OutputTokens,
            BilledCostUsd = outcome.Billed.CostUsd,
            LatencyMs = latency.TotalMilliseconds,
            TimeToFirstTokenMs = outcome.TimeToFirstToken?.TotalMilliseconds,
            CacheHit = outcome.CacheHit,
            Attempts = Attempts(outcome.Attempts),
        });

    private void RecordFailure(RoutePlan plan, CallerIdentity caller, string executionId, Exception ex, Run run, DateTimeOffset createdAt, TimeSpan latency, UsageCharge? charge)
    {
        var cancelled = ex is OperationCanceledException;
        // What the execution tried before it failed: the tokens those attempts consumed (a stream cut
        // or cancelled mid-answer is billed by the provider) are usage too. A caller that joined
        // another's flight shares its exception but not its scope; the leader records the attempts once.
        RecordEnded(plan, caller, executionId, run.Joined ? [] : run.Scope?.Attempts ?? [],
            cancelled ? ExecutionStatus.Cancelled : ExecutionStatus.Failed,
            ex switch
            {
                ProviderException p => p.ClassName,
                OperationCanceledException => "cancelled",
                Grpc.Core.RpcException r => r.StatusCode.ToString().ToLowerInvariant(),
                _ => "internal",
            },
            createdAt, latency, charge);
    }

    /// <summary>An execution that ended without an answer: failed, cancelled, or abandoned by its consumer.</summary>
    private void RecordEnded(RoutePlan plan, CallerIdentity caller, string executionId, IReadOnlyList<AttemptRecord> attempts, ExecutionStatus status, string errorClass, DateTimeOffset createdAt, TimeSpan latency, UsageCharge? charge)
    {
        var last = attempts.Count > 0 ? attempts[^1].Model : null;
        var billed = AttemptRecord.Bill(attempts);
        Enqueue(charge, new UsageEvent
        {
            ExecutionId = executionId,
            CreatedAt = createdAt,
            PrincipalId = caller.PrincipalId,
            ApiKeyId = caller.ApiKeyId,
            TaskType = (int)plan.Task.TaskType,
            Strategy = (int)plan.Strategy,
            Provider = last?.Provider ?? "",
            Model = last?.Id ?? "",
            // No answer: its usage is what the attempts consumed, which is also what is billed.
            InputTokens = billed.InputTokens,
            OutputTokens = billed.OutputTokens,
            CostUsd = billed.CostUsd,
            BilledInputTokens = billed.InputTokens,
            BilledOutputTokens = billed.OutputTokens,
            BilledCostUsd = billed.CostUsd,
            Attempts = Attempts(attempts),
            Status = (int)status,
            ErrorClass = errorClass,
            LatencyMs = latency.TotalMilliseconds,
        });
    }

    /// <summary>The one way out for a usage event: queued for storage, and added to the call's limits charge.</summary>
    private void Enqueue(UsageCharge? charge, UsageEvent e)
    {
        charge?.Add(e);
        usage.Enqueue(e);
    }

    /// <summary>Each attempt with what its tokens cost (a failed attempt that consumed none costs nothing).</summary>
    private static IReadOnlyList<UsageAttempt> Attempts(IReadOnlyList<AttemptRecord> attempts) =>
        attempts.Select(a => new UsageAttempt(a.Model.Provider, a.Model.Id, a.Outcome, a.Latency.TotalMilliseconds,
            a.TimeToFirstToken?.TotalMilliseconds, a.Usage.InputTokens, a.Usage.OutputTokens, a.Model.CostOf(a.Usage))).ToList();

    /// <summary>
    /// One execution's bookkeeping: whether its usage is recorded, the engine's scope once it started,
    /// and whether it joined another caller's flight (then the leader records the attempts and their
    /// cost, once; a joiner records none, also when the shared flight fails).
    /// </summary>
    private sealed class Run
    {
        private ExecutionScope? _scope;
        private volatile bool _led;

        public bool Recorded { get; set; }

        /// <summary>Set before entering a single flight.</summary>
        public bool Shared { get; set; }

        /// <summary>Set by the flight's work when this caller started it (the work runs only for the leader).</summary>
        public bool Led
        {
            get => _led;
            set => _led = value;
        }

        public bool Joined => Shared && !Led;

        /// <summary>The budget hold of the caller whose call runs the execution (null: no ceiling).</summary>
        public double? CostCeilingUsd { get; init; }

        /// <summary>Set by the engine when it starts (on the flight's pump for a shared stream).</summary>
        public ExecutionScope? Scope => Volatile.Read(ref _scope);

        /// <summary>The engine's start callback: keeps the scope and gives it the call's cost ceiling.</summary>
        public void Started(ExecutionScope scope)
        {
            scope.CostCeilingUsd = CostCeilingUsd;
            Volatile.Write(ref _scope, scope);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.SessionStoreFailed, Level = LogLevel.Warning, Message = "Session {Operation} failed; continuing without it")]
        public static partial void SessionFailed(ILogger logger, Exception exception, string operation);
    }
}
