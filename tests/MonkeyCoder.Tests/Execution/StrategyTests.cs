using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Strategies;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>quantum and pipeline on scripted providers and fake time.</summary>
public sealed class StrategyTests
{
    private static readonly CatalogModel A = TestCatalog.Model("ma", "a");
    private static readonly CatalogModel B = TestCatalog.Model("mb", "b");
    private static readonly CatalogModel C = TestCatalog.Model("mc", "c");

    private static MonkeyCoder.Core.Routing.RoutePlan Quantum(CollapseStrategy collapse, params CatalogModel[] models) =>
        Harness.Plan(Strategy.Quantum, models) with { CollapseStrategy = collapse };

    [Fact]
    public async Task Quantum_FirstSuccess_TwoAnswersAtTheSameInstant_ExactlyOneOk()
    {
        // Whether the loser is cancelled or has already answered depends on scheduling: either way it
        // is not a second "ok". Repeated, so the answered-before-cancel interleaving occurs.
        for (var run = 0; run < 20; run++)
        {
            var h = new HarnessBuilder(null)
                .Add("a", [Step.Text("answer a", TimeSpan.FromSeconds(1))])
                .Add("b", [Step.Text("answer b", TimeSpan.FromSeconds(1))])
                .Build(out _);
            var outcome = await h.ExecuteAsync(Quantum(CollapseStrategy.FirstSuccess, A, B));

            Assert.Equal(outcome.Model, Assert.Single(outcome.Attempts, x => x.Outcome == "ok").Model);
            Assert.Contains(Assert.Single(outcome.Attempts, x => x.Outcome != "ok").Outcome, new[] { "discarded", "cancelled" });
        }
    }

    [Fact]
    public async Task Quantum_FirstSuccess_FastestWinsLosersCancelledAtOnceAndNotBilled()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text("slow answer", TimeSpan.FromSeconds(20))])
            .Add("b", [Step.Text("fast answer", TimeSpan.FromSeconds(1))])
            .Add("c", [Step.Text("medium answer", TimeSpan.FromSeconds(5))])
            .Build(out var p);
        var outcome = await h.ExecuteAsync(Quantum(CollapseStrategy.FirstSuccess, A, B, C));

        Assert.Equal("fast answer", outcome.Content);
        Assert.Equal("mb", outcome.Model.Id);
        Assert.Equal(ExecutionStrategyNames.Quantum, outcome.Strategy);
        // Cancelled as soon as the winner was known, not after their own delays.
        Assert.Equal(1, p[0].Cancelled);
        Assert.Equal(1, p[2].Cancelled);
        Assert.True(h.Time.GetUtcNow() < new DateTimeOffset(2026, 1, 1, 0, 0, 4, TimeSpan.Zero), "losers were not cancelled at once");
        Assert.Equal(3, outcome.Attempts.Count);
        Assert.Equal(["cancelled", "cancelled", "ok"], outcome.Attempts.Select(x => x.Outcome).Order());
        // Only the winner is billed; losers carry their estimated prompt tokens on their attempts.
        Assert.Equal(new TokenUsage(10, 5), outcome.Usage);
        Assert.All(outcome.Attempts.Where(x => x.Outcome == "cancelled"), x => Assert.True(x.Usage is { Estimated: true, InputTokens: > 0, OutputTokens: 0 }));
    }

    [Fact]
    public async Task Quantum_BestScore_WaitsForAllAndPicksHighestScoreLosersDiscarded()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text("best model answer", TimeSpan.FromSeconds(3))])
            .Add("b", [Step.Text("second answer", TimeSpan.FromSeconds(1))])
            .Build(out _);
        var outcome = await h.ExecuteAsync(Quantum(CollapseStrategy.BestScore, A, B));

        Assert.Equal("ma", outcome.Model.Id);
        Assert.Equal("best model answer", outcome.Content);
        Assert.Contains(outcome.Attempts, x => x.Model.Id == "mb" && x.Outcome == AttemptOutcomes.Discarded && x.Usage.OutputTokens > 0);
        Assert.Contains(outcome.Notes, n => n.StartsWith("best score", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quantum_BestScore_CutAnswerRanksBelowComplete()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [new Step.Answer(["cut off"], Finish: FinishReason.Length)])
            .Add("b", [Step.Text("complete")])
            .Build(out _);
        var plan = Quantum(CollapseStrategy.BestScore, A, B);
        var outcome = await h.ExecuteAsync(plan);
        // a scores 1.0 × 0.85 for a cut answer; b scores 0.9 × 1.
        Assert.Equal("mb", outcome.Model.Id);
    }

    [Fact]
    public async Task Quantum_Consensus_MajorityAnswerWinsAndLastIsCancelled()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text("use a hash map keyed by id", TimeSpan.FromSeconds(1))])
            .Add("b", [Step.Text("sort the list then binary search", TimeSpan.FromSeconds(2))])
            .Add("c", [Step.Text("use a hash map keyed by the id", TimeSpan.FromSeconds(3))])
            .Build(out _);
        var d = TestCatalog.Model("md", "a");
        var plan = Quantum(CollapseStrategy.Consensus, A, B, C, d) with { ParallelVariants = 4 };
        // a, b, c answer; d (also provider a, same script) answers at 1 s too: a and d agree, a majority of 4 needs 3.
        var outcome = await h.ExecuteAsync(plan);

        Assert.Contains("hash map", outcome.Content, StringComparison.Ordinal);
        Assert.Contains(outcome.Notes, n => n.StartsWith("consensus", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quantum_Consensus_NoAgreement_FallsBackToBestScore()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text("alpha beta gamma")])
            .Add("b", [Step.Text("delta epsilon zeta")])
            .Build(out _);
        var outcome = await h.ExecuteAsync(Quantum(CollapseStrategy.Consensus, A, B));
        Assert.Equal("ma", outcome.Model.Id);
        Assert.Contains(outcome.Notes, n => n.StartsWith("no consensus", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quantum_FailedVariant_TakesSpareCandidate()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var h = new HarnessBuilder(options)
            .Add("a", [new Step.Fail(ProviderErrorClass.Overloaded)])
            .Add("b", [Step.Text("b answer", TimeSpan.FromSeconds(5))])
            .Add("c", [Step.Text("spare answer", TimeSpan.FromSeconds(1))])
            .Build(out var p);
        var plan = Quantum(CollapseStrategy.FirstSuccess, A, B, C) with { ParallelVariants = 2 };
        var outcome = await h.ExecuteAsync(plan);

        Assert.Equal("spare answer", outcome.Content);
        Assert.Equal(1, p[2].Calls);
        Assert.Contains(outcome.Attempts, x => x.Outcome == "overloaded");
    }

    [Fact]
    public async Task Quantum_AllVariantsFail_ThrowsClassifiedError()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var h = new HarnessBuilder(options)
            .Add("a", [new Step.Fail(ProviderErrorClass.Overloaded)])
            .Add("b", [new Step.Fail(ProviderErrorClass.Overloaded)])
            .Build(out _);
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Quantum(CollapseStrategy.BestScore, A, B)));
        Assert.Equal(ProviderErrorClass.Overloaded, ex.ErrorClass);
    }

    [Fact]
    public async Task Quantum_Stream_StreamsWinnerAfterCollapse()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text(new string('x', 600))])
            .Add("b", [Step.Text("short", TimeSpan.FromSeconds(1))])
            .Build(out _);
        var events = await h.StreamAsync(Quantum(CollapseStrategy.FirstSuccess, A, B));
        var done = events[^1].Completed!;
        Assert.Equal(done.Content, string.Concat(events.Where(e => e.Delta is not null).Select(e => e.Delta)));
        Assert.Equal(3, events.Count(e => e.Delta is not null));
    }

    [Fact]
    public async Task Pipeline_ThreePersonas_EachStepFeedsNextFinalIsLastAllBilled()
    {
        var h = new HarnessBuilder(null)
            .Add("a", [Step.Text("PLAN: two functions"), Step.Text("CODE: def f(): pass"), Step.Text("REVIEWED: def f(): return 1")])
            .Build(out var p);
        var outcome = await h.ExecuteAsync(Harness.Plan(Strategy.Pipeline, A));

        Assert.Equal("REVIEWED: def f(): return 1", outcome.Content);
        Assert.Equal(ExecutionStrategyNames.Pipeline, outcome.Strategy);
        Assert.Equal(3, p[0].Calls);
        var prompts = p[0].Requests.Select(r => (System: r.Messages[0].Content, User: r.Messages[^1].Content)).ToList();
        Assert.Contains("software architect", prompts[0].System, StringComparison.Ordinal);
        Assert.Contains("senior software developer", prompts[1].System, StringComparison.Ordinal);
        Assert.Contains("code reviewer", prompts[2].System, StringComparison.Ordinal);
        Assert.Contains("PLAN: two functions", prompts[1].User, StringComparison.Ordinal);
        Assert.Contains("CODE: def f(): pass", prompts[2].User, StringComparison.Ordinal);
        Assert.Contains("PLAN: two functions", prompts[2].User, StringComparison.Ordinal);
        Assert.DoesNotContain("PLAN", prompts[0].User, StringComparison.Ordinal);
        Assert.Equal(new TokenUsage(30, 15), outcome.Usage);
        Assert.Equal(3, outcome.Notes.Count);
    }

    [Fact]
    public async Task Pipeline_StepFailsOver_AndStreamCarriesOnlyLastStep()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var h = new HarnessBuilder(options)
            .Add("a", [Step.Text("PLAN"), new Step.Fail(ProviderErrorClass.Overloaded), new Step.Answer(["FINAL ", "ANSWER"])])
            .Add("b", [Step.Text("CODE from b")])
            .Build(out var p);
        var events = await h.StreamAsync(Harness.Plan(Strategy.Pipeline, A, B));

        Assert.Equal(["FINAL ", "ANSWER"], events.Where(e => e.Delta is not null).Select(e => e.Delta));
        var done = events[^1].Completed!;
        Assert.Equal("FINAL ANSWER", done.Content);
        Assert.Equal(["ok", "overloaded", "ok", "ok"], done.Attempts.Select(x => x.Outcome));
        Assert.Contains("CODE from b", p[0].Requests[^1].Messages[^1].Content, StringComparison.Ordinal);
        Assert.Equal(30, done.Usage.InputTokens);
    }

    [Fact]
    public void Similarity_WordSets_Jaccard()
    {
        Assert.Equal(1, QuantumStrategy.Similarity("a b c", "c b a"));
        Assert.Equal(0.5, QuantumStrategy.Similarity("a b", "a b c d"));
        Assert.Equal(0, QuantumStrategy.Similarity("a", "b"));
    }
}
