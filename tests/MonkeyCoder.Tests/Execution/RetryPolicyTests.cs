using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;

namespace MonkeyCoder.Tests.Execution;

public sealed class RetryPolicyTests
{
    private readonly FakeTimeProvider _time = new();

    private RetryPolicy Policy(ExecutionOptions? options = null)
    {
        var opts = Options.Create(options ?? new ExecutionOptions { RetryBaseDelayMs = 100, RetryMaxDelayMs = 1_000, MaxRetryAfterMs = 5_000 });
        return new RetryPolicy(opts, new RetryBudget(opts, _time), new BanditRandom(7));
    }

    private static ProviderException Failure(ProviderErrorClass errorClass, TimeSpan? retryAfter = null) =>
        new("p", errorClass, "failed") { RetryAfter = retryAfter };

    [Theory]
    [InlineData(nameof(ProviderErrorClass.ContentFiltered), nameof(FailureAction.Stop))]
    [InlineData(nameof(ProviderErrorClass.ContextLengthExceeded), nameof(FailureAction.FailOver))]
    [InlineData(nameof(ProviderErrorClass.InvalidRequest), nameof(FailureAction.FailOver))]
    [InlineData(nameof(ProviderErrorClass.Authentication), nameof(FailureAction.FailOver))]
    [InlineData(nameof(ProviderErrorClass.RateLimited), nameof(FailureAction.Retry))]
    [InlineData(nameof(ProviderErrorClass.Overloaded), nameof(FailureAction.Retry))]
    [InlineData(nameof(ProviderErrorClass.Timeout), nameof(FailureAction.Retry))]
    [InlineData(nameof(ProviderErrorClass.ConnectionReset), nameof(FailureAction.Retry))]
    public void Decide_ByErrorClass_ActsAsDocumented(string errorClass, string expected) =>
        Assert.Equal(Enum.Parse<FailureAction>(expected), Policy().Decide(Failure(Enum.Parse<ProviderErrorClass>(errorClass)), 0, null).Action);

    [Fact]
    public void Decide_RetriesSpent_FailsOver() =>
        Assert.Equal(FailureAction.FailOver, Policy().Decide(Failure(ProviderErrorClass.Overloaded), new ExecutionOptions().MaxRetriesPerCandidate, null).Action);

    [Fact]
    public void Decide_RetryAfterWithinLimit_WaitsAtLeastThatLong()
    {
        var decision = Policy().Decide(Failure(ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(3)), 0, null);
        Assert.Equal(FailureAction.Retry, decision.Action);
        Assert.Equal(TimeSpan.FromSeconds(3), decision.Delay);
    }

    [Fact]
    public void Decide_RetryAfterBeyondLimit_FailsOverAtOnce() =>
        Assert.Equal(FailureAction.FailOver, Policy().Decide(Failure(ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(6)), 0, null).Action);

    [Fact]
    public void Decide_WaitLongerThanTimeLeftBeforeDeadline_FailsOverInsteadOfSleepingPastIt()
    {
        var policy = Policy();
        var failure = Failure(ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(2));

        Assert.Equal(FailureAction.Retry, policy.Decide(failure, 0, TimeSpan.FromSeconds(10)).Action);
        var late = policy.Decide(failure, 0, TimeSpan.FromSeconds(1.5));
        Assert.Equal(FailureAction.FailOver, late.Action);
        Assert.Contains("deadline", late.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Backoff_FullJitter_StaysWithinTheExponentialCap()
    {
        var policy = Policy();
        for (var retry = 0; retry < 6; retry++)
        {
            var cap = Math.Min(1_000, 100 * Math.Pow(2, retry));
            for (var i = 0; i < 50; i++)
            {
                Assert.InRange(policy.Backoff(retry).TotalMilliseconds, 0, cap);
            }
        }
    }

    [Fact]
    public void Decide_RetryBudgetSpent_FailsOverUntilTheWindowMoves()
    {
        var options = new ExecutionOptions { RetryBudgetRatio = 0, RetryBudgetMinPerWindow = 2, RetryBudgetWindowSeconds = 10, RetryBaseDelayMs = 1, RetryMaxDelayMs = 1 };
        var policy = Policy(options);
        var failure = Failure(ProviderErrorClass.Overloaded);

        Assert.Equal(FailureAction.Retry, policy.Decide(failure, 0, null).Action);
        Assert.Equal(FailureAction.Retry, policy.Decide(failure, 0, null).Action);
        var spent = policy.Decide(failure, 0, null);
        Assert.Equal(FailureAction.FailOver, spent.Action);
        Assert.Contains("budget", spent.Why, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(FailureAction.Retry, policy.Decide(failure, 0, null).Action);
    }
}
