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
public sealed partial class RateLimitInterceptor(IRateLimiter limiter, InMemoryRateLimiter fallback, IOptions<LimitOptions> options, ILogger<RateLimitInterceptor> logger,
    Observability.MonkeyCoderMetrics? metrics = null) : Interceptor
{
    public const string RateLimited = "RATE_LIMITED";
    public const string TokenRateLimited = "TOKEN_RATE_LIMITED";
    public const string BudgetExceeded = "BUDGET_EXCEEDED";

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
        try
        {
            return await continuation(request, context);
        }
        finally
        {
            await CompleteAsync(admission.Value, charge.Tokens, charge.CostUsd);
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
        try
        {
            await continuation(request, responseStream, context);
        }
        finally
        {
            await CompleteAsync(admission.Value, charge.Tokens, charge.CostUsd);
        }
    }

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

        var limits = principal.Limits;
        var keyBudget = limits.KeyMonthlyBudgetUsd ?? (principal.ApiKeyId is null ? null : _options.MonthlyBudgetUsd);
        var userBudget = limits.UserMonthlyBudgetUsd ?? (principal.ApiKeyId is null ? _options.MonthlyBudgetUsd : null);
        var ask = new LimitRequest(
            principal.LimitKey,
            method,
            principal.Id,
            principal.ApiKeyId,
            limits.RequestsPerMinute ?? _options.RequestsPerMinute,
            limits.TokensPerMinute ?? _options.TokensPerMinute,
            estimate,
            estimate > 0 && keyBudget is { } kb ? LimitMath.ToMicros(kb) : null,
            estimate > 0 && userBudget is { } ub ? LimitMath.ToMicros(ub) : null);

        LimitDecision decision;
        try
        {
            decision = await limiter.AcquireAsync(ask, cancellationToken);
            if (Interlocked.Exchange(ref _outage, 0) == 1)
            {
                Log.Recovered(logger, limiter.Kind);
            }
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

    /// <summary>Settles an admitted call with what it used: corrects the token window, adds the spend to the budgets. Never throws for the limiter being down.</summary>
    public async Task CompleteAsync((LimitRequest Request, LimitDecision Decision) admission, long tokens, double cost)
    {
        if (admission.Request.EstimatedTokens == 0 && cost <= 0)
        {
            return;
        }

        try
        {
            var settler = admission.Decision.Fallback ? fallback : limiter;
            await settler.CompleteAsync(admission.Request, admission.Decision, tokens, cost, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The shared settlement is lost; this replica's limiter at least counts the spend from here on.
            if (Interlocked.Exchange(ref _outage, 1) == 0)
            {
                Log.Unavailable(logger, ex, limiter.Kind);
            }

            await fallback.CompleteAsync(admission.Request, admission.Decision with { TokenWindow = 0 }, tokens, cost, CancellationToken.None);
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
    }
}
