using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>The result of running one candidate (with its retries): an answer, or the failure and what to do next.</summary>
internal readonly record struct CandidateResult(ProviderResponse? Response, AttemptRecord? Attempt, ProviderException? Failure, FailureAction Next)
{
    public bool Succeeded => Response is not null;
}

/// <summary>
/// Runs attempts against one candidate: asks its circuit breaker, enforces the per-attempt limits
/// (attempt timeout; for streams the first-token and stall timeouts), classifies every failure,
/// records it, and retries the same model while <see cref="RetryPolicy"/> says so, waiting on the
/// injected <see cref="TimeProvider"/>. Strategies compose candidates; this class owns one.
/// </summary>
internal sealed partial class AttemptRunner(
    ProviderRegistry providers,
    AttemptRecorder recorder,
    CircuitBreaker breaker,
    RetryPolicy retryPolicy,
    RetryBudget budget,
    TokenCounter tokens,
    TimeProvider time,
    IOptions<ExecutionOptions> options,
    ILogger<AttemptRunner> logger)
{
    private readonly ExecutionOptions _options = options.Value;

    public ExecutionOptions Options => _options;

    public TimeProvider Time => time;

    public TokenCounter Tokens => tokens;

    public AttemptRecorder Recorder => recorder;

    public async Task<CandidateResult> RunAsync(ExecutionScope scope, RouteCandidate candidate, ProviderRequest request, CancellationToken cancellationToken)
    {
        var model = candidate.Model;
        for (var retries = 0; ; retries++)
        {
            if (await GateAsync(scope, candidate, retries, cancellationToken) is { } blocked)
            {
                return blocked;
            }

            var start = time.GetTimestamp();
            // Current while the provider request is sent: its traceparent names this attempt.
            using var span = MonkeyCoderTracing.StartAttempt(model);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.AttemptTimeoutMs), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            ProviderException failure;
            try
            {
                var response = await providers.Get(model.Provider).CompleteAsync(request, linked.Token);
                var latency = time.GetElapsedTime(start);
                var attempt = new AttemptRecord(model, AttemptOutcomes.Ok, latency, latency, response.Usage);
                await recorder.SucceededAsync(scope, attempt);
                return new CandidateResult(response, attempt, null, FailureAction.Stop);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                recorder.Cancelled(scope, model, time.GetElapsedTime(start), null, new TokenUsage(tokens.Count(request), 0, Estimated: true));
                throw;
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                failure = new ProviderException(model.Provider, ProviderErrorClass.Timeout,
                    $"No answer within the attempt timeout of {_options.AttemptTimeoutMs} ms.");
            }
            catch (OperationCanceledException)
            {
                // The client's own timeout (not ours, not the caller's).
                failure = new ProviderException(model.Provider, ProviderErrorClass.Timeout, "The provider client timed out.");
            }
            catch (ProviderException ex)
            {
                failure = ex;
            }
            catch (Exception ex)
            {
                failure = Unexpected(model, ex);
            }

            var decision = await FailedAsync(scope, model, failure, time.GetElapsedTime(start), null, default, retries);
            span?.Stop();
            if (decision.Action != FailureAction.Retry)
            {
                return new CandidateResult(null, null, failure, decision.Action);
            }

            await Task.Delay(decision.Delay, time, cancellationToken);
        }
    }

    /// <summary>
    /// Opens a stream on one candidate and reads until its first content (or an immediate final
    /// event) without exposing anything: failures up to here are retried or failed over unseen.
    /// </summary>
    public async Task<(OpenedStream? Stream, CandidateResult Result)> OpenStreamAsync(ExecutionScope scope, RouteCandidate candidate, ProviderRequest request, CancellationToken cancellationToken)
    {
        var model = candidate.Model;
        for (var retries = 0; ; retries++)
        {
            if (await GateAsync(scope, candidate, retries, cancellationToken) is { } blocked)
            {
                return (null, blocked);
            }

            var start = time.GetTimestamp();
            var firstTokenMs = FirstTokenTimeoutMs(model);
            // One timer for "next event due": first the first-token timeout, then the stall timeout after each event.
            var due = new CancellationTokenSource(TimeSpan.FromMilliseconds(firstTokenMs), time);
            var whole = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.AttemptTimeoutMs), time);
            var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, due.Token, whole.Token);
            var stream = new OpenedStream(candidate, request, start, due, whole, linked);
            // Current while the provider request is sent (its traceparent names this attempt); a
            // committed stream takes it over and stops it when disposed.
            var span = MonkeyCoderTracing.StartAttempt(model);
            ProviderException failure;
            try
            {
                stream.Enumerator = providers.Get(model.Provider).StreamAsync(request, linked.Token).GetAsyncEnumerator(linked.Token);
                while (true)
                {
                    if (!await stream.Enumerator.MoveNextAsync())
                    {
                        throw new ProviderException(model.Provider, ProviderErrorClass.StreamCut, "The stream ended before any content.");
                    }

                    var current = stream.Enumerator.Current;
                    // A tool call's first piece commits like content: from here the caller may see it.
                    if (current.IsFinal || !string.IsNullOrEmpty(current.Delta) || current.ToolCall is not null)
                    {
                        stream.First = current;
                        stream.TimeToFirstToken = time.GetElapsedTime(start);
                        stream.Append(current);
                        due.CancelAfter(TimeSpan.FromMilliseconds(_options.StallTimeoutMs));
                        // Committed: if the consumer walks away before the stream settles, the attempt is recorded "cancelled".
                        stream.Abandoned = () => recorder.Cancelled(scope, model, time.GetElapsedTime(start), stream.TimeToFirstToken, PartialUsage(stream), DeliveredTokens(stream));
                        stream.Span = span;
                        return (stream, default);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await stream.DisposeAsync();
                recorder.Cancelled(scope, model, time.GetElapsedTime(start), null, new TokenUsage(tokens.Count(request), 0, Estimated: true));
                span?.Stop();
                throw;
            }
            catch (OperationCanceledException) when (due.IsCancellationRequested || whole.IsCancellationRequested)
            {
                // Silent: fails over at once rather than spending another first-token timeout on the same model.
                failure = new ProviderException(model.Provider, ProviderErrorClass.Timeout,
                    $"No first token within {Math.Min(firstTokenMs, _options.AttemptTimeoutMs)} ms.") { Silent = true };
            }
            catch (OperationCanceledException)
            {
                failure = new ProviderException(model.Provider, ProviderErrorClass.Timeout, "The provider client timed out before the first token.");
            }
            catch (ProviderException ex)
            {
                failure = ex;
            }
            catch (Exception ex)
            {
                failure = Unexpected(model, ex);
            }

            await stream.DisposeAsync();
            var decision = await FailedAsync(scope, model, failure, time.GetElapsedTime(start), null, default, retries);
            span?.Stop();
            if (decision.Action != FailureAction.Retry)
            {
                return (null, new CandidateResult(null, null, failure, decision.Action));
            }

            await Task.Delay(decision.Delay, time, cancellationToken);
        }
    }

    /// <summary>
    /// The next event of a committed stream, or why there is none. Content has reached the caller, so
    /// a failure here is recorded at once (with the tokens seen so far, estimated, and those delivered)
    /// and returned: the strategy recovers the answer or ends the call with it. Cancellation by the
    /// caller is recorded "cancelled" and thrown.
    /// </summary>
    public async ValueTask<(ProviderStreamEvent Event, ProviderException? Failure)> ReadNextAsync(ExecutionScope scope, OpenedStream stream, CancellationToken cancellationToken)
    {
        var model = stream.Candidate.Model;
        stream.EnterSpan();
        ProviderException failure;
        try
        {
            if (!await stream.Enumerator.MoveNextAsync())
            {
                throw new ProviderException(model.Provider, ProviderErrorClass.StreamCut, "The stream ended before its final event; the answer is incomplete.");
            }

            var current = stream.Enumerator.Current;
            stream.Append(current);
            stream.Due.CancelAfter(TimeSpan.FromMilliseconds(_options.StallTimeoutMs));
            return (current, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stream.Settle();
            recorder.Cancelled(scope, model, time.GetElapsedTime(stream.Start), stream.TimeToFirstToken, PartialUsage(stream), DeliveredTokens(stream));
            throw;
        }
        catch (OperationCanceledException) when (stream.Whole.IsCancellationRequested)
        {
            failure = new ProviderException(model.Provider, ProviderErrorClass.Timeout, $"The stream did not finish within {_options.AttemptTimeoutMs} ms; the answer is incomplete.");
        }
        catch (OperationCanceledException) when (stream.Due.IsCancellationRequested)
        {
            failure = new ProviderException(model.Provider, ProviderErrorClass.Stalled, $"No token for {_options.StallTimeoutMs} ms; the answer is incomplete.");
        }
        catch (OperationCanceledException)
        {
            failure = new ProviderException(model.Provider, ProviderErrorClass.Stalled, "The provider client timed out mid-stream; the answer is incomplete.");
        }
        catch (ProviderException ex)
        {
            failure = ex;
        }
        catch (Exception ex)
        {
            failure = Unexpected(model, ex);
        }

        stream.Settle();
        await recorder.FailedAsync(scope, model, failure, time.GetElapsedTime(stream.Start), stream.TimeToFirstToken, PartialUsage(stream), DeliveredTokens(stream));
        Log.StreamBroken(logger, model.Key, failure.ClassName);
        return (default, failure);
    }

    /// <summary>Records a stream that reached its final event; returns the attempt.</summary>
    public async ValueTask<AttemptRecord> CompleteStreamAsync(ExecutionScope scope, OpenedStream stream, ProviderStreamEvent final)
    {
        stream.EnterSpan();
        stream.Settle();
        var usage = final.Usage ?? PartialUsage(stream);
        var attempt = new AttemptRecord(stream.Candidate.Model, AttemptOutcomes.Ok, time.GetElapsedTime(stream.Start), stream.TimeToFirstToken, usage,
            DeliveredTokens: DeliveredTokens(stream));
        await recorder.SucceededAsync(scope, attempt);
        return attempt;
    }

    /// <summary>Null when the candidate may be tried now; otherwise why not and what to do next.</summary>
    private async ValueTask<CandidateResult?> GateAsync(ExecutionScope scope, RouteCandidate candidate, int retries, CancellationToken cancellationToken)
    {
        var model = candidate.Model;
        // A candidate's first attempt, moments after the router read its circuit closed, takes that
        // reading: one shared-store round trip less per call. Retries and late failovers read again.
        var permit = (retries == 0 ? breaker.ReuseClosedReading(model.Key, candidate.CircuitClosedAt) : null)
            ?? await breaker.AcquireAsync(model.Key, cancellationToken);
        if (!permit.Allowed)
        {
            var open = new ProviderException(model.Provider, ProviderErrorClass.Overloaded,
                $"The circuit for {model.Key} is open after repeated failures.")
            { RetryAfter = permit.RetryAfter, ProviderCode = "circuit_open" };
            scope.CircuitOpen(open);
            Log.CircuitOpenSkipped(logger, model.Key);
            return new CandidateResult(null, null, open, FailureAction.FailOver);
        }

        if (!scope.TryStartAttempt(_options.MaxAttemptsPerExecution))
        {
            return new CandidateResult(null, null, scope.FinalFailure(), FailureAction.Stop);
        }

        if (retries == 0)
        {
            budget.OnAttempt();
        }

        return null;
    }

    private async ValueTask<RetryDecision> FailedAsync(ExecutionScope scope, CatalogModel model, ProviderException failure, TimeSpan latency, TimeSpan? ttft, TokenUsage usage, int retries)
    {
        await recorder.FailedAsync(scope, model, failure, latency, ttft, usage);
        TimeSpan? remaining = scope.Deadline is { } deadline ? deadline - time.GetUtcNow() : null;
        var decision = retryPolicy.Decide(failure, retries, remaining);
        Log.AttemptFailed(logger, model.Key, failure.ClassName, decision.Action.ToString(), decision.Why);
        return decision;
    }

    /// <summary>The model's own first-token limit (catalog <c>firstTokenTimeoutMs</c>), else the global one.</summary>
    public int FirstTokenTimeoutMs(CatalogModel model) => model.FirstTokenTimeoutMs is int ms and > 0 ? ms : _options.FirstTokenTimeoutMs;

    private long DeliveredTokens(OpenedStream stream) => stream.DeliveredText.Length == 0 ? 0 : tokens.Count(stream.DeliveredText);

    private TokenUsage PartialUsage(OpenedStream stream) =>
        new(tokens.Count(stream.Request), tokens.Count(stream.Text) + tokens.Count(stream.ToolCallText), Estimated: true);

    private static ProviderException Unexpected(CatalogModel model, Exception ex) =>
        new(model.Provider, ProviderErrorClass.Unknown, $"Unexpected {ex.GetType().Name} from the provider client.", ex);

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.AttemptFailed, Level = LogLevel.Warning,
            Message = "Attempt on {Model} failed with {ErrorClass}; next: {Action} ({Why})")]
        public static partial void AttemptFailed(ILogger logger, string model, string errorClass, string action, string why);

        [LoggerMessage(EventId = Observability.EventIds.CircuitOpenSkipped, Level = LogLevel.Information,
            Message = "Skipping {Model}: its circuit is open")]
        public static partial void CircuitOpenSkipped(ILogger logger, string model);

        [LoggerMessage(EventId = Observability.EventIds.StreamBroken, Level = LogLevel.Warning,
            Message = "Stream from {Model} broke after content reached the caller ({ErrorClass})")]
        public static partial void StreamBroken(ILogger logger, string model, string errorClass);
    }
}
