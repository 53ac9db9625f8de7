using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Tests.Limits;

public sealed class InMemoryRateLimiterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 30, TimeSpan.Zero));

    private static LimitRequest Ask(int rpm = 60, int tpm = 1000, long tokens = 0, long? keyBudget = null, long? userBudget = null) =>
        new("key:k1", "/monkeycoder.v1.RouterService/Execute", "u1", "k1", rpm, tpm, tokens, keyBudget, userBudget);

    [Fact]
    public async Task Acquire_SixtyPerMinute_AdmitsSixtyThenRefusesUntilOldestLeavesWindow()
    {
        var limiter = new InMemoryRateLimiter(_time);
        for (var i = 0; i < 60; i++)
        {
            var decision = await limiter.AcquireAsync(Ask(), default);
            Assert.True(decision.Admitted, $"call {i}");
            Assert.Equal(59 - i, decision.Remaining);
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        var refused = await limiter.AcquireAsync(Ask(), default);
        Assert.Equal(LimitVerdict.RequestsExceeded, refused.Verdict);
        // The first call was 6 s ago: it leaves the 60 s window in 54 s.
        Assert.Equal(TimeSpan.FromSeconds(54), refused.RetryAfter);

        _time.Advance(refused.RetryAfter);
        Assert.True((await limiter.AcquireAsync(Ask(), default)).Admitted);
        Assert.False((await limiter.AcquireAsync(Ask(), default)).Admitted);
    }

    [Fact]
    public async Task Acquire_TokensEstimatedThenCorrected_CorrectionFreesRoom()
    {
        var limiter = new InMemoryRateLimiter(_time);
        var ask = Ask(tpm: 1000, tokens: 600);
        var first = await limiter.AcquireAsync(ask, default);
        Assert.True(first.Admitted);
        Assert.Equal(LimitVerdict.TokensExceeded, (await limiter.AcquireAsync(ask, default)).Verdict);

        // The call used 100 tokens, not 600: 900 are free again.
        await limiter.CompleteAsync(ask, first, actualTokens: 100, costUsd: 0, default);
        Assert.True((await limiter.AcquireAsync(ask, default)).Admitted);
    }

    [Fact]
    public async Task Acquire_SpendReachesKeyBudget_BudgetExceededUntilNextMonth()
    {
        var limiter = new InMemoryRateLimiter(_time);
        var ask = Ask(tokens: 10, keyBudget: 1_000);
        var first = await limiter.AcquireAsync(ask, default);
        await limiter.CompleteAsync(ask, first, 10, costUsd: 0.001, default);

        var refused = await limiter.AcquireAsync(ask, default);
        Assert.Equal(LimitVerdict.BudgetExceeded, refused.Verdict);
        Assert.Equal("key", refused.BudgetScope);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero) - _time.GetUtcNow(), refused.RetryAfter);

        _time.SetUtcNow(new DateTimeOffset(2026, 12, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.True((await limiter.AcquireAsync(ask, default)).Admitted);
    }

    [Fact]
    public async Task Acquire_UserBudgetSharedByKeys_RefusesOtherKeyOfSameUser()
    {
        var limiter = new InMemoryRateLimiter(_time);
        var first = Ask(tokens: 10, userBudget: 500);
        var decision = await limiter.AcquireAsync(first, default);
        await limiter.CompleteAsync(first, decision, 10, costUsd: 0.0005, default);

        var otherKey = first with { Subject = "key:k2", KeyId = "k2" };
        var refused = await limiter.AcquireAsync(otherKey, default);
        Assert.Equal(LimitVerdict.BudgetExceeded, refused.Verdict);
        Assert.Equal("user", refused.BudgetScope);
    }

    [Fact]
    public async Task Acquire_DifferentRpcs_CountedSeparately()
    {
        var limiter = new InMemoryRateLimiter(_time);
        Assert.True((await limiter.AcquireAsync(Ask(rpm: 1), default)).Admitted);
        Assert.False((await limiter.AcquireAsync(Ask(rpm: 1), default)).Admitted);
        Assert.True((await limiter.AcquireAsync(Ask(rpm: 1) with { Method = "/monkeycoder.v1.RouterService/Route" }, default)).Admitted);
    }
}
