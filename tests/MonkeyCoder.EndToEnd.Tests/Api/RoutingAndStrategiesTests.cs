using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Api;

/// <summary>Route's explanations, the quantum and pipeline strategies and Feedback, through the real Service.</summary>
[Collection(ServiceCollection.Name)]
public sealed class RoutingAndStrategiesTests(ServiceFixture fixture)
{
    private static DateTime Deadline(int seconds = 30) => DateTime.UtcNow.AddSeconds(seconds);

    private static ExecuteRequest Task(string prompt = "write fizzbuzz in python", int maxTokens = 120) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = maxTokens };

    [Fact]
    public async Task Route_Task_ExplainsChoiceWithScoresBreakdownAndReasons()
    {
        var plan = (await fixture.Router.RouteAsync(Task("implement an LRU cache class with a lock, then add tests"), deadline: Deadline())).Plan;

        Assert.True(plan.Candidates.Count >= 2);
        foreach (var candidate in plan.Candidates)
        {
            Assert.True(candidate.Score > 0);
            foreach (var key in new[] { "capability", "code_generation", "reasoning", "context_fit", "reliability", "cost", "latency" })
            {
                Assert.True(candidate.ScoreBreakdown.ContainsKey(key), $"{candidate.Model} lacks {key}");
            }

            Assert.Contains(candidate.Reasons, r => r.StartsWith("capability", StringComparison.Ordinal));
            Assert.Contains(candidate.Reasons, r => r.Contains("window", StringComparison.Ordinal));
            Assert.Contains(candidate.Reasons, r => r.StartsWith("worst-case cost", StringComparison.Ordinal));
            Assert.Contains(candidate.Reasons, r => r.StartsWith("expected latency", StringComparison.Ordinal));
        }

        Assert.Contains(plan.Reasons, r => r.Contains("complexity", StringComparison.Ordinal));
        Assert.Contains(plan.Reasons, r => r.Contains("goes first", StringComparison.Ordinal) && r.Contains(plan.Candidates[0].Model, StringComparison.Ordinal));
        Assert.InRange(plan.Confidence, 0.1, 1);
    }

    [Fact]
    public async Task Route_CostObjective_CheapestModelFirst()
    {
        var request = Task();
        request.Objective = RoutingObjective.Cost;
        var plan = (await fixture.Router.RouteAsync(request, deadline: Deadline())).Plan;
        // The cheapest scores best; it goes first unless the exploration floor sent this one call to
        // a model the shared fixture's earlier calls starved (the plan then says so).
        Assert.Equal("sim-fast", plan.Candidates.MaxBy(c => c.Score)!.Model);
        Assert.True(plan.Candidates[0].Model == "sim-fast" || plan.Reasons.Any(r => r.Contains("exploration floor", StringComparison.Ordinal)), string.Join("; ", plan.Reasons));
        Assert.Contains(plan.Candidates[0].Reasons, r => r.Contains("cost objective", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Route_BudgetTooSmall_FailedPreconditionNamingTheBudget()
    {
        var request = Task(maxTokens: 4000);
        request.MaxCostUsd = 0.0000001;
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.RouteAsync(request, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("BUDGET_EXCEEDED", ex.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
        Assert.Contains("exceeds the budget", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_QuantumFirstSuccess_WinnerBilledEveryVariantRecorded()
    {
        var request = Task();
        request.StrategyOptions = new StrategyOptions { Strategy = Strategy.Quantum, ParallelVariants = 2, CollapseStrategy = CollapseStrategy.FirstSuccess };
        var response = await fixture.Router.ExecuteAsync(request, deadline: Deadline());

        Assert.Equal(ExecutionStatus.Completed, response.Status);
        Assert.Equal(2, response.Attempts.Count);
        var winner = Assert.Single(response.Attempts, a => a.Outcome == "ok");
        Assert.Equal(response.Model, winner.Model);
        Assert.Contains(response.Attempts, a => a.Outcome is "cancelled" or "discarded" && a.Model != response.Model);
        // Only the winner is billed as the completion.
        Assert.Equal(winner.Usage.OutputTokens, response.Usage.OutputTokens);
        Assert.Equal(winner.Usage.CostUsd, response.Usage.CostUsd, 8);
    }

    [Fact]
    public async Task Execute_QuantumBestScore_AllVariantsFinishLoserDiscarded()
    {
        var request = Task();
        request.StrategyOptions = new StrategyOptions { Strategy = Strategy.Quantum, ParallelVariants = 2, CollapseStrategy = CollapseStrategy.BestScore };
        var response = await fixture.Router.ExecuteAsync(request, deadline: Deadline());

        Assert.Equal(["discarded", "ok"], response.Attempts.Select(a => a.Outcome).Order());
        Assert.True(response.Attempts.Single(a => a.Outcome == "discarded").Usage.OutputTokens > 0);
        Assert.NotEmpty(response.Content);
    }

    [Fact]
    public async Task ExecuteAndStream_Pipeline_LastStepAnswersAllStepsBilledStreamCarriesLastStep()
    {
        var request = Task("implement a rate limiter in python", maxTokens: 80);
        request.StrategyOptions = new StrategyOptions { Strategy = Strategy.Pipeline };
        var unary = await fixture.Router.ExecuteAsync(request, deadline: Deadline(60));

        Assert.Equal(3, unary.Attempts.Count);
        Assert.All(unary.Attempts, a => Assert.Equal("ok", a.Outcome));
        Assert.Equal(unary.Attempts.Sum(a => a.Usage.OutputTokens), unary.Usage.OutputTokens);
        Assert.Equal(unary.Attempts.Sum(a => a.Usage.InputTokens), unary.Usage.InputTokens);
        // Each step's prompt carries the earlier output, so inputs grow step by step.
        Assert.True(unary.Attempts[1].Usage.InputTokens > unary.Attempts[0].Usage.InputTokens);
        Assert.True(unary.Attempts[2].Usage.InputTokens > unary.Attempts[1].Usage.InputTokens);

        using var call = fixture.Router.StreamExecute(request, deadline: Deadline(60));
        var events = new List<StreamExecuteResponse>();
        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            events.Add(item);
        }

        Assert.Equal(StreamExecuteResponse.EventOneofCase.Started, events[0].EventCase);
        Assert.Equal([Persona.Architect, Persona.Developer, Persona.Reviewer], events[0].Started.Plan.PipelinePersonas);
        var final = events[^1].Final;
        Assert.NotNull(final);
        Assert.Equal(unary.Content, string.Concat(events.Where(e => e.EventCase == StreamExecuteResponse.EventOneofCase.Delta).Select(e => e.Delta.Text)));
        Assert.Equal(unary.Usage.OutputTokens, final.Usage.OutputTokens);
        Assert.Equal(3, final.Attempts.Count);
    }

    [Fact]
    public async Task Feedback_AfterExecute_AcceptedForTheModelThatAnswered()
    {
        var executed = await fixture.Router.ExecuteAsync(Task(maxTokens: 20), deadline: Deadline());
        var feedback = await fixture.Router.FeedbackAsync(new FeedbackRequest { ExecutionId = executed.ExecutionId, Rating = 5, Comment = "spot on" }, deadline: Deadline());

        Assert.Equal(executed.ExecutionId, feedback.ExecutionId);
        Assert.Equal(executed.Provider, feedback.Provider);
        Assert.Equal(executed.Model, feedback.Model);
    }

    [Fact]
    public async Task Feedback_AfterStream_Accepted()
    {
        using var call = fixture.Router.StreamExecute(Task(maxTokens: 20), deadline: Deadline());
        string? executionId = null;
        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            executionId ??= item.Started?.ExecutionId;
        }

        var feedback = await fixture.Router.FeedbackAsync(new FeedbackRequest { ExecutionId = executionId, Rating = 2 }, deadline: Deadline());
        Assert.Equal("simulated", feedback.Provider);
    }

    [Fact]
    public async Task Feedback_UnknownExecution_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.FeedbackAsync(
            new FeedbackRequest { ExecutionId = "exec_does_not_exist", Rating = 3 }, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("EXECUTION_NOT_FOUND", ex.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
    }

    [Fact]
    public async Task Feedback_RatingOutOfRange_InvalidArgumentWithFieldViolation()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.FeedbackAsync(
            new FeedbackRequest { ExecutionId = "exec_x", Rating = 9 }, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("rating", ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field));
    }
}
