using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Tests.Infrastructure;

namespace MonkeyCoder.Tests.Observability;

/// <summary>The metrics other features report: rate-limit rejections and circuit breaker states.</summary>
public sealed class FeatureMetricsTests
{
    private static readonly Principal Caller = new("usr_1", "dev@example.com", "Dev", "developer", new HashSet<string>(), Principal.ApiKeyMethod, "key_1",
        new CredentialLimits(RequestsPerMinute: 1, TokensPerMinute: 100, KeyMonthlyBudgetUsd: null, UserMonthlyBudgetUsd: null));

    private static RequestLimits Limits(MetricsCapture capture, FakeTimeProvider time) =>
        new(new InMemoryRateLimiter(time), new InMemoryRateLimiter(time), Options.Create(new LimitOptions()), NullLogger<RequestLimits>.Instance, capture.Metrics);

    [Fact]
    public async Task AdmitAsync_RequestLimitReached_RejectionCountedWithRpcAndLimit()
    {
        using var capture = new MetricsCapture();
        var limits = Limits(capture, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000)));
        const string method = "/monkeycoder.v1.RouterService/Route";

        Assert.NotNull(await limits.AdmitAsync(Caller, method, 0, null, CancellationToken.None));
        Assert.Empty(capture.Read("monkeycoder.ratelimit.rejections"));
        var ex = await Assert.ThrowsAsync<RpcException>(() => limits.AdmitAsync(Caller, method, 0, null, CancellationToken.None));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        var rejection = Assert.Single(capture.Read("monkeycoder.ratelimit.rejections"));
        Assert.Equal(1, rejection.Value);
        Assert.Equal("RouterService/Route", rejection["rpc"]);
        Assert.Equal("requests", rejection["limit"]);
    }

    [Fact]
    public async Task AdmitAsync_TokenEstimateOverLimit_RejectionCountedAsTokens()
    {
        using var capture = new MetricsCapture();
        var limits = Limits(capture, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000)));

        var caller = Caller with { Limits = Caller.Limits with { RequestsPerMinute = 10 } };
        Assert.NotNull(await limits.AdmitAsync(caller, "/monkeycoder.v1.RouterService/Execute", 100, null, CancellationToken.None));
        await Assert.ThrowsAsync<RpcException>(() => limits.AdmitAsync(caller, "/monkeycoder.v1.RouterService/Execute", 50, null, CancellationToken.None));

        var rejection = Assert.Single(capture.Read("monkeycoder.ratelimit.rejections"));
        Assert.Equal("RouterService/Execute", rejection["rpc"]);
        Assert.Equal("tokens", rejection["limit"]);
    }

    [Fact]
    public async Task AdmissionStep_OpenAiChatOverTheRequestLimit_RejectionCountedWithOperation()
    {
        using var capture = new MetricsCapture();
        var admission = new AdmissionStep(Limits(capture, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000))));
        CallContext Chat()
        {
            var call = TestCallEdge.Call(CallOperations.ChatCompletions);
            call.Authenticated(Caller);
            return call;
        }

        await TestCallEdge.RunAsync(Chat(), _ => ValueTask.CompletedTask, admission);
        await Assert.ThrowsAsync<RpcException>(async () => await TestCallEdge.RunAsync(Chat(), _ => ValueTask.CompletedTask, admission));

        var rejection = Assert.Single(capture.Read("monkeycoder.ratelimit.rejections"));
        Assert.Equal("openai.chat.completions", rejection["rpc"]);
        Assert.Equal("requests", rejection["limit"]);
    }

    [Fact]
    public async Task CircuitBreaker_OpensProbesAndCloses_GaugeFollowsState()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var capture = new MetricsCapture(time);
        var options = Options.Create(new ExecutionOptions { BreakerFailureThreshold = 2, BreakerBreakMs = 10_000, BreakerProbeLeaseMs = 5_000 });
        var breaker = new CircuitBreaker(new InMemoryCircuitBreakerStore(), time, options, NullLogger<CircuitBreaker>.Instance, capture.Metrics);
        const string key = "openai/gpt-test";
        double State()
        {
            var sample = capture.Read("monkeycoder.breaker.state").Last(s => s["provider"] == "openai" && s["model"] == "gpt-test");
            return sample.Value;
        }

        Assert.Empty(capture.Read("monkeycoder.breaker.state"));
        Assert.True((await breaker.AcquireAsync(key, CancellationToken.None)).Allowed);
        Assert.Equal(0, State());

        await breaker.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await breaker.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        Assert.Equal(2, State());

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.True((await breaker.AcquireAsync(key, CancellationToken.None)).IsProbe);
        Assert.Equal(1, State());

        await breaker.OnSuccessAsync(key, CancellationToken.None);
        Assert.Equal(0, State());
    }
}
