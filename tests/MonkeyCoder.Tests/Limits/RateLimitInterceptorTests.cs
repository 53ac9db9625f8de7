using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.Tests.Infrastructure;
using MonkeyCoder.V1;
using Principal = MonkeyCoder.Core.Auth.Principal;

namespace MonkeyCoder.Tests.Limits;

public sealed class RateLimitInterceptorTests
{
    private const string Execute = "/monkeycoder.v1.RouterService/Execute";

    /// <summary>Admits everything and remembers each settlement.</summary>
    private sealed class RecordingLimiter : IRateLimiter
    {
        public List<(long Tokens, double Cost)> Completed { get; } = [];

        public string Kind => "recording";

        public Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, request.RequestsPerMinute - 1, TimeSpan.Zero, TimeSpan.FromMinutes(1), 0));

        public Task CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken)
        {
            Completed.Add((actualTokens, costUsd));
            return Task.CompletedTask;
        }
    }

    private static readonly UsageEvent FailedAttempts = new() { ExecutionId = "exec_1", CreatedAt = DateTimeOffset.UnixEpoch, PrincipalId = "u1", InputTokens = 100, OutputTokens = 20, CostUsd = 0.25 };

    private static RateLimitInterceptor Interceptor(IRateLimiter limiter) =>
        new(limiter, Options.Create(new LimitOptions { MonthlyBudgetUsd = 10 }), NullLogger<RateLimitInterceptor>.Instance);

    private static TestServerCallContext Context()
    {
        var context = new TestServerCallContext(Execute);
        context.SetPrincipal(new Principal("u1", "u1@example.com", "U", "developer", new HashSet<string> { Scopes.Execute }, Principal.ApiKeyMethod, "k1", CredentialLimits.Defaults));
        return context;
    }

    [Fact]
    public async Task UnaryServerHandler_ExecutionFailsAfterSpending_SettlesWithTheRecordedTokensAndCost()
    {
        var limiter = new RecordingLimiter();
        var context = Context();

        await Assert.ThrowsAsync<ProviderException>(() => Interceptor(limiter).UnaryServerHandler<ExecuteRequest, ExecuteResponse>(
            new ExecuteRequest { Prompt = "hi" }, context, (_, ctx) =>
            {
                // What TaskExecutor does when it records the failed execution's usage.
                UsageCharge.Of(ctx)!.Add(FailedAttempts);
                throw new ProviderException("p1", ProviderErrorClass.StreamCut, "cut");
            }));

        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }

    [Fact]
    public async Task ServerStreamingServerHandler_ClientGoneAfterSpending_SettlesWithTheRecordedTokensAndCost()
    {
        var limiter = new RecordingLimiter();
        var context = Context();

        await Assert.ThrowsAsync<OperationCanceledException>(() => Interceptor(limiter).ServerStreamingServerHandler<ExecuteRequest, StreamExecuteResponse>(
            new ExecuteRequest { Prompt = "hi" }, null!, context, (_, _, ctx) =>
            {
                UsageCharge.Of(ctx)!.Add(FailedAttempts);
                throw new OperationCanceledException();
            }));

        Assert.Equal([(120L, 0.25)], limiter.Completed);
    }
}
