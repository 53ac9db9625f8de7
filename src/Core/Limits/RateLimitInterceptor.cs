using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Runs after authentication: admits or refuses each call by the principal's request, token and
/// budget limits. Refusals are RESOURCE_EXHAUSTED with RetryInfo (reasons RATE_LIMITED,
/// TOKEN_RATE_LIMITED, BUDGET_EXCEEDED). Every limited call gets <c>x-ratelimit-limit</c>,
/// <c>x-ratelimit-remaining</c>, <c>x-ratelimit-reset</c> (and <c>retry-after</c> when refused) as
/// response headers, which the REST host passes through as HTTP headers. Each refusal (gRPC or the
/// HTTP edge) counts in <c>monkeycoder.ratelimit.rejections</c> (rpc, limit: requests, tokens, budget).
/// While the shared limiter (Redis) is unreachable, this replica limits with its in-process limiter,
/// the one used without Redis, so limits hold per replica rather than switching off; logged once per outage.
/// </summary>
internal sealed partial class RateLimitInterceptor(IRateLimiter limiter, InMemoryRateLimiter fallback, IOptions<LimitOptions> options, ILogger<RateLimitInterceptor> logger,
    Observability.MonkeyCoderMetrics? metrics = null, WorstCaseCost? worstCase = null, OutageBudget? outage = null, BudgetAlerts? alerts = null) : Interceptor
{
    public const string RateLimited = "RATE_LIMITED";
    public const string TokenRateLimited = "TOKEN_RATE_LIMITED";
    public const string BudgetExceeded = "BUDGET_EXCEEDED";

    /// <summary>Redis is unreachable and this replica's share of the budget is used up: retry shortly.</summary>
    public const string BudgetShareExhausted = "BUDGET_SHARE_EXHAUSTED";

    /// <summary>Response trailer: the budget hold of the call in micro-USD (absent when no budget applies).</summary>
    public const string HoldTrailer = "x-budget-hold-micros";

    /// <summary>How long an unsettled hold lives (its replica died mid-call). 15 min.</summary>
    public static readonly TimeSpan HoldLifetime = TimeSpan.FromMinutes(15);

    /// <summary>RetryInfo of a refusal that other calls' settlements may lift soon. 5 s.</summary>
    private static readonly TimeSpan HeldRetry = TimeSpan.FromSeconds(5);

    private readonly OutageBudget _shares = outage ?? new OutageBudget();

    /// <summary>Method prefix of the HTTP edge's operations (see <see cref="EdgeRequestLimiter"/>).</summary>
    internal const string EdgeMethodPrefix = "/openai/";

    private readonly LimitOptions _options = options.Value;
    private int _outage;

    /// <summary>True while the shared limiter is unreachable and this replica limits on its own.</summary>
    public bool FallingBack => Volatile.Read(ref _outage) == 1;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var admission = await AdmitAsync(request, context);
        if (admission is null)
        {
            return await continuation(request, context);
        }

        // Settled with what usage recorded, answer or not: a failed or cancelled execution's attempts were really spent.
        var charge = UsageCharge.Attach(context);
        var hold = AttachHold(admission.Value, charge);
        try
        {
            return await continuation(request, context);
        }
        finally
        {
            Trail(context, hold);
            await CompleteAsync(admission.Value, charge.Tokens, charge.CostUsd, hold?.Reservation);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var admission = await AdmitAsync(request, context);
        if (admission is null)
        {
            await continuation(request, responseStream, context);
            return;
        }

        var charge = UsageCharge.Attach(context);
        var hold = AttachHold(admission.Value, charge);
        try
        {
            await continuation(request, responseStream, context);
        }
        finally
        {
            Trail(context, hold);
            await CompleteAsync(admission.Value, charge.Tokens, charge.CostUsd, hold?.Reservation);
        }
    }

    /// <summary>Gives the call's charge a budget hold when a key or user budget applies (null otherwise).</summary>
    internal BudgetHold? AttachHold((LimitRequest Request, LimitDecision Decision) admission, UsageCharge charge)
    {
        if (worstCase is null || (admission.Request.KeyBudgetMicros is null && admission.Request.UserBudgetMicros is null))
        {
            return null;
        }

        var hold = new BudgetHold(this, admission.Request);
        charge.Budget = hold;
        return hold;
    }

    private static void Trail(ServerCallContext context, BudgetHold? hold)
    {
        if (hold?.Reservation is { } reservation)
        {
            context.ResponseTrailers.Add(HoldTrailer, reservation.Micros.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Holds <paramref name="plan"/>'s worst-case cost against the budgets of <paramref name="ask"/>,
    /// in Redis (shared) or, while it is unreachable, against this replica's outage share. Throws
    /// RESOURCE_EXHAUSTED BUDGET_EXCEEDED (or UNAVAILABLE BUDGET_SHARE_EXHAUSTED) with RetryInfo.
    /// </summary>
    internal async Task<SpendReservation> ReserveAsync(LimitRequest ask, Routing.RoutePlan plan, CancellationToken cancellationToken)
    {
        var micros = worstCase!.Micros(plan);
        SpendReservation hold;
        try
        {
            hold = await limiter.ReserveAsync(ask, micros, HoldLifetime, cancellationToken);
            await RecoveredAsync();
            if (hold.Admitted)
            {
                _shares.Synced(ask, hold);
            }
        }
        catch (Exception ex) when (Storage.StorageFailures.IsUnavailable(ex))
        {
            // Redis lost the month's spend and the usage store that rebuilds it is unreachable: the spend is unknown, so
            // nothing is admitted against it (an outage share would be a guess); retryable, like any storage outage.
            metrics?.RecordRateLimitRejected(RpcLabel(ask.Method), "budget");
            Log.SpendUnknown(logger, ex, ask.UserId);
            throw Storage.StorageFailures.ToRpcException();
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            if (Interlocked.Exchange(ref _outage, 1) == 0)
            {
                Log.Unavailable(logger, ex, limiter.Kind);
            }

            hold = _shares.Reserve(ask, micros);
            if (!hold.Admitted)
            {
                metrics?.RecordRateLimitRejected(RpcLabel(ask.Method), "budget");
                throw RpcErrors.Unavailable(BudgetShareExhausted,
                    $"The shared limiter is unreachable and this replica's share of the {hold.Scope} budget is used up (the call may cost up to {Usd(micros)}); retry shortly.",
                    HeldRetry, new Dictionary<string, string> { ["budget_scope"] = hold.Scope ?? "key", ["hold_usd"] = Usd(micros) });
            }
        }

        if (!hold.Admitted)
        {
            metrics?.RecordRateLimitRejected(RpcLabel(ask.Method), "budget");
            if (hold.FirstRefusal)
            {
                alerts?.Exhausted(ask, hold.Scope ?? "key", micros, hold.RemainingMicros);
            }

            var budget = hold.Scope == "key" ? ask.KeyBudgetMicros : ask.UserBudgetMicros;
            // Spend alone leaves room for this call: open holds block it and free up as those calls settle.
            var retry = hold.RemainingMicros >= 0 && budget is { } b && micros <= b ? HeldRetry : LimitMath.UntilNextMonth(DateTimeOffset.UtcNow);
            throw RpcErrors.ResourceExhausted(BudgetExceeded,
                $"The monthly spend budget of this {hold.Scope} cannot cover this call: it may cost up to {Usd(micros)} and {Usd(Math.Max(0, hold.RemainingMicros))} is left after spend and open holds.",
                retry, new Dictionary<string, string> { ["budget_scope"] = hold.Scope ?? "key", ["hold_usd"] = Usd(micros), ["remaining_usd"] = Usd(Math.Max(0, hold.RemainingMicros)) });
        }

        return hold;
    }

    private static string Usd(long micros) => (micros / 1_000_000d).ToString("0.######", CultureInfo.InvariantCulture) + " USD";

    private Task<(LimitRequest Request, LimitDecision Decision)?> AdmitAsync<TRequest>(TRequest request, ServerCallContext context)
    {
        if (!_options.Enabled || context.GetPrincipal() is not { } principal)
        {
            return Task.FromResult<(LimitRequest, LimitDecision)?>(null);
        }

        var estimate = request is ExecuteRequest execute ? Estimate(execute) : 0;
        return AdmitAsync(principal, context.Method, estimate, context.GetHttpContext()?.Response, context.CancellationToken);
    }

    /// <summary>
    /// Admits one call of <paramref name="principal"/> to <paramref name="method"/> or throws
    /// RESOURCE_EXHAUSTED with RetryInfo; sets the X-RateLimit-* headers on <paramref name="response"/>.
    /// Shared by the gRPC interceptor and the HTTP edge. Null when limits do not apply.
    /// </summary>
    public async Task<(LimitRequest Request, LimitDecision Decision)?> AdmitAsync(Auth.Principal principal, string method, long estimate, Microsoft.AspNetCore.Http.HttpResponse? response, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return null;
        }

        var ask = Ask(principal, method, estimate);
        LimitDecision decision;
        try
        {
            decision = await limiter.AcquireAsync(ask, cancellationToken);
            await RecoveredAsync();
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // An unreachable Redis must neither take the API down nor switch limits off: this replica
            // limits on its own until Redis answers again (readiness reports the outage).
            if (Interlocked.Exchange(ref _outage, 1) == 0)
            {
                Log.Unavailable(logger, ex, limiter.Kind);
            }

            decision = await fallback.AcquireAsync(ask, cancellationToken) with { Fallback = true };
        }

        SetHeaders(response, decision);
        if (decision.Admitted)
        {
            return (ask, decision);
        }

        metrics?.RecordRateLimitRejected(RpcLabel(method), decision.Verdict switch
        {
            LimitVerdict.RequestsExceeded => "requests",
            LimitVerdict.TokensExceeded => "tokens",
            _ => "budget",
        });
        var metadata = new Dictionary<string, string>
        {
            ["limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture),
            ["method"] = method,
        };
        throw decision.Verdict switch
        {
            LimitVerdict.RequestsExceeded => RpcErrors.ResourceExhausted(RateLimited,
                $"Rate limit of {decision.Limit} requests per minute for {method} reached; retry after {Math.Ceiling(decision.RetryAfter.TotalSeconds)} s.", decision.RetryAfter, metadata),
            LimitVerdict.TokensExceeded => RpcErrors.ResourceExhausted(TokenRateLimited,
                $"Token rate limit of {ask.TokensPerMinute} tokens per minute reached; retry after {Math.Ceiling(decision.RetryAfter.TotalSeconds)} s.", decision.RetryAfter,
                new Dictionary<string, string> { ["limit"] = ask.TokensPerMinute.ToString(CultureInfo.InvariantCulture), ["estimated_tokens"] = estimate.ToString(CultureInfo.InvariantCulture) }),
            _ => RpcErrors.ResourceExhausted(BudgetExceeded,
                $"The monthly spend budget of this {decision.BudgetScope} is used up; it resets at the start of next month (UTC).", decision.RetryAfter,
                new Dictionary<string, string> { ["budget_scope"] = decision.BudgetScope ?? "key" }),
        };
    }

    /// <summary>What <paramref name="principal"/>'s call asks of the limiter: its limits, and its budgets when the call can spend.</summary>
    private LimitRequest Ask(Auth.Principal principal, string method, long estimate)
    {
        var limits = principal.Limits;
        // The user's budget (an admin's value, else MONTHLY_BUDGET_USD) holds across every key of the
        // user, so more keys buy nothing; a key's own budget can only narrow it.
        var keyBudget = principal.ApiKeyId is null ? null : limits.KeyMonthlyBudgetUsd;
        var userBudget = limits.UserMonthlyBudgetUsd ?? _options.MonthlyBudgetUsd;
        return new LimitRequest(
            principal.LimitKey,
            method,
            principal.Id,
            principal.ApiKeyId,
            limits.RequestsPerMinute ?? _options.RequestsPerMinute,
            limits.TokensPerMinute ?? _options.TokensPerMinute,
            estimate,
            estimate > 0 && keyBudget is { } kb ? LimitMath.ToMicros(kb) : null,
            estimate > 0 && userBudget is { } ub ? LimitMath.ToMicros(ub) : null);
    }

    /// <summary>The caller's budgets this month (spend, open holds); null when limits are off.</summary>
    public async Task<BudgetSnapshot?> BudgetOfAsync(Auth.Principal principal, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return null;
        }

        var ask = Ask(principal, "", 1);
        try
        {
            return await limiter.GetBudgetAsync(ask, cancellationToken);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return await fallback.GetBudgetAsync(ask, cancellationToken);
        }
    }

    /// <summary>
    /// Settles an admitted call with what it used: corrects the token window, replaces the budget
    /// hold with the cost usage recorded, and alerts when the spend crosses 80 % or 100 % of a budget.
    /// Never throws for the limiter being down (the spend then waits in the outage ledger).
    /// </summary>
    public async Task CompleteAsync((LimitRequest Request, LimitDecision Decision) admission, long tokens, double cost, SpendReservation? hold = null)
    {
        if (admission.Request.EstimatedTokens == 0 && cost <= 0 && hold is null)
        {
            return;
        }

        var micros = LimitMath.ToMicros(cost);
        if (hold is { Fallback: true } || (admission.Decision.Fallback && FallingBack))
        {
            // Admitted while Redis was unreachable: settled here, and the spend handed to Redis when it returns.
            await fallback.CompleteAsync(admission.Request, admission.Decision, tokens, cost, CancellationToken.None);
            _shares.Settle(admission.Request, hold, micros);
            return;
        }

        try
        {
            var settler = admission.Decision.Fallback ? fallback : limiter;
            var totals = await settler.CompleteAsync(admission.Request, admission.Decision, tokens, cost, CancellationToken.None, hold);
            if (admission.Decision.Fallback && cost > 0)
            {
                // Limited locally (Redis was down at admission) but Redis answers now: the spend still counts there.
                totals = await limiter.CompleteAsync(admission.Request with { EstimatedTokens = 0 }, admission.Decision with { TokenWindow = 0 }, 0, cost, CancellationToken.None);
            }

            alerts?.Check(admission.Request, totals, micros);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The shared settlement waits in the outage ledger; this replica's limiter counts the spend from here on.
            if (Interlocked.Exchange(ref _outage, 1) == 0)
            {
                Log.Unavailable(logger, ex, limiter.Kind);
            }

            await fallback.CompleteAsync(admission.Request, admission.Decision with { TokenWindow = 0 }, tokens, cost, CancellationToken.None);
            _shares.Settle(admission.Request, hold, micros);
        }
    }

    /// <summary>After an outage: logs the recovery and hands the spend made meanwhile to Redis (the shares reconcile).</summary>
    private async Task RecoveredAsync()
    {
        if (Interlocked.Exchange(ref _outage, 0) != 1)
        {
            return;
        }

        Log.Recovered(logger, limiter.Kind);
        var pending = _shares.TakeUnsynced();
        for (var i = 0; i < pending.Count; i++)
        {
            var item = pending[i];
            try
            {
                await limiter.CompleteAsync(item.Request with { EstimatedTokens = 0 }, new LimitDecision(LimitVerdict.Admitted, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0),
                    0, item.CostMicros / 1_000_000d, CancellationToken.None, item.Hold);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                _shares.Return(pending.Skip(i));
                Interlocked.Exchange(ref _outage, 1);
                return;
            }
        }

        if (pending.Count > 0)
        {
            Log.Reconciled(logger, pending.Count);
        }
    }

    /// <summary>"RouterService/Execute" for gRPC methods; the operation ("openai.chat.completions") for the HTTP edge's "/openai/…".</summary>
    internal static string RpcLabel(string method) =>
        method.StartsWith(EdgeMethodPrefix, StringComparison.Ordinal) ? method[EdgeMethodPrefix.Length..] : Observability.TelemetryInterceptor.RpcName(method);

    /// <summary>Prompt and files at ~4 characters per token, plus the output the request allows.</summary>
    private long Estimate(ExecuteRequest request)
    {
        long characters = request.Prompt.Length + request.CustomInstructions.Length;
        foreach (var file in request.Files)
        {
            characters += file.Content.Length;
        }

        return (characters / 4) + 1 + (request.HasMaxTokens ? request.MaxTokens : _options.DefaultMaxTokens);
    }

    private static void SetHeaders(Microsoft.AspNetCore.Http.HttpResponse? response, LimitDecision decision)
    {
        if (response is null || response.HasStarted)
        {
            return;
        }

        response.Headers["x-ratelimit-limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-reset"] = Math.Ceiling(decision.ResetAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        if (!decision.Admitted)
        {
            response.Headers["retry-after"] = Math.Max(1, Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.LimitsUnavailable, Level = LogLevel.Warning,
            Message = "Rate limiter {Limiter} unavailable; limiting with this replica's in-process limiter until it answers again")]
        public static partial void Unavailable(ILogger logger, Exception exception, string limiter);

        [LoggerMessage(EventId = Observability.EventIds.LimitsRecovered, Level = LogLevel.Information,
            Message = "Rate limiter {Limiter} answers again; limits are shared across replicas again")]
        public static partial void Recovered(ILogger logger, string limiter);

        [LoggerMessage(EventId = Observability.EventIds.BudgetSpendUnknown, Level = LogLevel.Warning,
            Message = "Budget spend of user {UserId} is missing in Redis and the usage store to rebuild it from is unreachable; refusing with STORAGE_UNAVAILABLE")]
        public static partial void SpendUnknown(ILogger logger, Exception exception, string userId);

        [LoggerMessage(EventId = Observability.EventIds.BudgetsReconciled, Level = LogLevel.Information,
            Message = "Handed {Count} settlements made during the limiter outage to the shared budgets")]
        public static partial void Reconciled(ILogger logger, int count);
    }
}
