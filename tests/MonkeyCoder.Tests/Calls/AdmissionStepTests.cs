using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.Tests.Infrastructure;
using MonkeyCoder.V1;
using Principal = MonkeyCoder.Core.Auth.Principal;

namespace MonkeyCoder.Tests.Calls;

/// <summary>The admission and settlement steps over <see cref="RequestLimits"/>: limits while Redis is down, settlement of what a failed call spent.</summary>
public sealed class AdmissionStepTests
{
    private const string Execute = "/monkeycoder.v1.RouterService/Execute";

    /// <summary>Admits everything and remembers each settlement.</summary>
    private sealed class RecordingLimiter : IRateLimiter
    {
        public List<(long Tokens, double Cost)> Completed { get; } = [];

        public string Kind => "recording";

        public Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, request.RequestsPerMinute - 1, TimeSpan.Zero, TimeSpan.FromMinutes(1), 0));

        public Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
            SpendReservation? reservation = null)
        {
            Completed.Add((actualTokens, costUsd));
            return Task.FromResult(SpendTotals.Unknown);
        }

        public Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken) =>
            Task.FromResult(new SpendReservation("h", micros, true, null, -1));

        public Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new BudgetSnapshot(null, new BudgetUse(null, 0, 0, 0)));
    }

    // An execution that failed after spending: its usage and its billed total are the attempts'.
    private static readonly UsageEvent FailedAttempts = new()
    {
        ExecutionId = "exec_1", CreatedAt = DateTimeOffset.UnixEpoch, PrincipalId = "u1", InputTokens = 100, OutputTokens = 20, CostUsd = 0.25,
        BilledInputTokens = 100, BilledOutputTokens = 20, BilledCostUsd = 0.25,
    };

    /// <summary>A Redis that cannot be reached while <see cref="Down"/> is set; otherwise admits everything.</summary>
    private sealed class UnreachableRedis : IRateLimiter
    {
        public volatile bool Down = true;

        public int Acquired;

        public string Kind => "redis";

        public Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new StackExchange.Redis.RedisException("No connection is active/available to service this operation");
            }

            Interlocked.Increment(ref Acquired);
            return Task.FromResult(new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, request.RequestsPerMinute - 1, TimeSpan.Zero, TimeSpan.FromMinutes(1), 0));
        }

        /// <summary>Spend handed over while up (micro-USD), e.g. the outage's spend at reconciliation.</summary>
        public long SettledMicros;

        /// <summary>What Redis reports left of the user budget at a hold, micro-USD.</summary>
        public long UserRemainingMicros = 1_000;

        public Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
            SpendReservation? reservation = null)
        {
            if (Down)
            {
                throw new StackExchange.Redis.RedisException("down");
            }

            Interlocked.Add(ref SettledMicros, LimitMath.ToMicros(costUsd));
            return Task.FromResult(SpendTotals.Unknown);
        }

        public Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken) =>
            Down
                ? throw new StackExchange.Redis.RedisException("down")
                : Task.FromResult(new SpendReservation("h", micros, UserRemainingMicros >= micros, null, UserRemainingMicros) { UserRemainingMicros = UserRemainingMicros });

        public Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken) =>
            Down ? throw new StackExchange.Redis.RedisException("down") : Task.FromResult(new BudgetSnapshot(null, new BudgetUse(null, 0, 0, 0)));
    }

    private static RequestLimits Limits(IRateLimiter limiter, LimitOptions? options = null, RecordingLogger<RequestLimits>? logger = null) =>
        new(limiter, new InMemoryRateLimiter(TimeProvider.System), Options.Create(options ?? new LimitOptions { MonthlyBudgetUsd = 10 }),
            (Microsoft.Extensions.Logging.ILogger<RequestLimits>?)logger ?? NullLogger<RequestLimits>.Instance);

    /// <summary>One Execute through admission and settlement, as the pipeline runs them, with <paramref name="handler"/> as the RPC.</summary>
    private static Task CallAsync(RequestLimits limits, CallNext? handler = null, RecordingLogger<SettlementStep>? logger = null, CallContext? call = null)
    {
        call ??= Context();
        return TestCallEdge.RunAsync(call, handler ?? (_ => ValueTask.CompletedTask), new AdmissionStep(limits),
            new SettlementStep(limits, (Microsoft.Extensions.Logging.ILogger<SettlementStep>?)logger ?? NullLogger<SettlementStep>.Instance)).AsTask();
    }

    [Fact]
    public async Task Admission_RedisUnreachable_InProcessLimitStillRefusesOverTheRate()
    {
        var limits = Limits(new UnreachableRedis(), new LimitOptions { RequestsPerMinute = 3 });

        for (var i = 0; i < 3; i++)
        {
            await CallAsync(limits);
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => CallAsync(limits));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.True(limits.FallingBack);
    }

    [Fact]
    public async Task Admission_TwoRedisOutages_LoggedOncePerOutageAndRecoveryLogged()
    {
        var redis = new UnreachableRedis();
        var logger = new RecordingLogger<RequestLimits>();
        var limits = Limits(redis, logger: logger);

        for (var i = 0; i < 5; i++)
        {
            await CallAsync(limits);
        }

        Assert.Equal(1, logger.Count(Core.Observability.EventIds.LimitsUnavailable));
        redis.Down = false;
        await CallAsync(limits);
        Assert.False(limits.FallingBack);
        Assert.Equal(1, redis.Acquired);
        Assert.Equal(1, logger.Count(Core.Observability.EventIds.LimitsRecovered));
        redis.Down = true;
        for (var i = 0; i < 5; i++)
        {
            await CallAsync(limits);
        }

        Assert.Equal(2, logger.Count(Core.Observability.EventIds.LimitsUnavailable));
    }

    private static CallContext Context()
    {
        var call = TestCallEdge.Call(Execute, new ExecuteRequest { Prompt = "hi" });
        call.Authenticated(new Principal("u1", "u1@example.com", "U", "developer", new HashSet<string> { Scopes.Execute }, Principal.ApiKeyMethod, "k1", CredentialLimits.Defaults));
        return call;
    }

    [Fact]
    public async Task Settlement_ExecutionFailsAfterSpending_SettlesWithTheRecordedTokensAndCost()
    {
        var limiter = new RecordingLimiter();

        await Assert.ThrowsAsync<ProviderException>(() => CallAsync(Limits(limiter), call =>
        {
            // What TaskExecutor does when it records the failed execution's usage.
            call.Charge!.Add(FailedAttempts);
            throw new ProviderException("p1", ProviderErrorClass.StreamCut, "cut");
        }));

        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }

    [Fact]
    public async Task Settlement_ClientGoneAfterSpendingOnAStream_SettlesWithTheRecordedTokensAndCost()
    {
        var limiter = new RecordingLimiter();

        await Assert.ThrowsAsync<OperationCanceledException>(() => CallAsync(Limits(limiter), call =>
        {
            call.Charge!.Add(FailedAttempts);
            throw new OperationCanceledException();
        }));

        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }

    [Fact]
    public async Task Settlement_WritesHandedOverByTheHandler_AwaitedBeforeTheCallEndsAfterTheHandler()
    {
        var limiter = new RecordingLimiter();
        var write = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerDone = false;

        var running = CallAsync(Limits(limiter), async call =>
        {
            call.Charge!.Add(FailedAttempts);
            await CallContext.AfterAnswer(new ValueTask(write.Task));
            handlerDone = true;
        });

        // The handler answered without waiting for the write; the call (its settlement) waits for it.
        Assert.True(handlerDone);
        await Task.Delay(50);
        Assert.False(running.IsCompleted);
        write.SetResult();
        await running;
        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }

    [Fact]
    public async Task Settlement_HandedOverWriteFails_LoggedAndTheCallStillSettles()
    {
        var limiter = new RecordingLimiter();
        var logger = new RecordingLogger<SettlementStep>();

        await CallAsync(Limits(limiter), async call =>
        {
            call.Charge!.Add(FailedAttempts);
            await CallContext.AfterAnswer(new ValueTask(Task.Run(async () =>
            {
                await Task.Yield();
                throw new InvalidOperationException("store down");
            })));
        }, logger);

        Assert.Equal(1, logger.Count(Core.Observability.EventIds.DeferredWriteFailed));
        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }

    [Fact]
    public async Task AfterAnswer_NoCallOrCallAlreadySettled_TheWriterAwaitsItItself()
    {
        var call = Context();
        await CallAsync(Limits(new RecordingLimiter()), call: call);

        // A hedge's loser finishing after the call settled: the call takes no more writes.
        Assert.False(call.TryDefer(Task.CompletedTask));
        var late = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var awaited = CallContext.AfterAnswer(new ValueTask(late.Task)).AsTask();
        Assert.False(awaited.IsCompleted);
        late.SetException(new InvalidOperationException("store down"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => awaited);

        CallContext.Current = null;
        var none = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inline = CallContext.AfterAnswer(new ValueTask(none.Task)).AsTask();
        Assert.False(inline.IsCompleted);
        none.SetResult();
        await inline;
    }
}
