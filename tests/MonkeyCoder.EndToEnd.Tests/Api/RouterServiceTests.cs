using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Api;

[Collection(ServiceCollection.Name)]
public sealed class RouterServiceTests(ServiceFixture fixture)
{
    private static ExecuteRequest Task(string prompt = "write fizzbuzz in python", int maxTokens = 200) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = maxTokens, TaskId = "t-1" };

    [Fact]
    public async Task Execute_SimulatedTask_ReturnsContentUsageAndModel()
    {
        var response = await fixture.Router.ExecuteAsync(Task(), deadline: DateTime.UtcNow.AddSeconds(20));

        Assert.Equal(ExecutionStatus.Completed, response.Status);
        Assert.StartsWith("exec_", response.ExecutionId, StringComparison.Ordinal);
        Assert.Equal("t-1", response.TaskId);
        Assert.Contains("```python", response.Content, StringComparison.Ordinal);
        Assert.Equal("simulated", response.Provider);
        Assert.False(string.IsNullOrEmpty(response.Model));
        Assert.True(response.Usage.InputTokens > 0);
        Assert.InRange(response.Usage.OutputTokens, 1, 200);
        Assert.Equal(response.Usage.InputTokens + response.Usage.OutputTokens, response.Usage.TotalTokens);
        Assert.True(response.Usage.CostUsd > 0);
        Assert.True(response.Timing.Total.ToTimeSpan() >= response.Timing.Provider.ToTimeSpan());
        Assert.Single(response.Attempts);
        Assert.Equal("ok", response.Attempts[0].Outcome);
    }

    [Fact]
    public async Task Execute_ModelPinnedByIdOrAlias_ThatModelAnswers()
    {
        // A prompt the router would rank sim-fast for; the pin overrides the ranking.
        foreach (var (pin, expected) in new[] { ("sim-pro", "sim-pro"), ("simulated-fast", "sim-fast"), ("simulated/sim-pro", "sim-pro") })
        {
            var request = Task("say hi", 16);
            request.Model = pin;
            var response = await fixture.Router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.Equal(expected, response.Model);
            Assert.Equal("simulated", response.Provider);
        }
    }

    [Fact]
    public async Task Route_ModelPinnedWithFallbacks_PlanIsThePinThenTheFallbacks()
    {
        var request = Task("say hi", 16);
        request.Model = "sim-pro";
        request.Fallbacks.Add("simulated/sim-fast");

        var plan = (await fixture.Router.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(20))).Plan;

        Assert.Equal("sim-pro", plan.Candidates[0].Model);
        Assert.Contains("sim-fast", plan.Candidates.Skip(1).Select(c => c.Model));
    }

    [Fact]
    public async Task StreamExecute_ModelPinned_FinalNamesThatModel()
    {
        var request = Task("say hi", 16);
        request.Model = "sim-pro";
        using var call = fixture.Router.StreamExecute(request, deadline: DateTime.UtcNow.AddSeconds(20));
        var events = new List<StreamExecuteResponse>();
        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            events.Add(item);
        }

        Assert.Equal("sim-pro", events[0].Started.Plan.Candidates[0].Model);
        Assert.Equal("sim-pro", events[^1].Final.Model);
    }

    [Fact]
    public async Task Execute_UnknownModelPinned_NotFoundWithDetails()
    {
        var request = Task("say hi", 16);
        request.Model = "no-such-model-7";
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        var info = ex.GetRpcStatus()!.GetDetail<ErrorInfo>();
        Assert.Equal("MODEL_NOT_FOUND", info.Reason);
        Assert.Equal("no-such-model-7", info.Metadata["model"]);
        Assert.Contains("no-such-model-7", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_UnknownFallbackAndBadTool_InvalidArgumentWithFieldViolations()
    {
        var request = Task("say hi", 16);
        request.Fallbacks.Add("no-such-model-8");
        var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal("fallbacks[0]", unknown.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Single().Field);

        var tools = Task("say hi", 16);
        tools.Tools.Add(new Tool { Name = "bad name", ParametersJsonSchema = "{}" });
        tools.Stop.AddRange(["1", "2", "3", "4", "5"]);
        var invalid = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.ExecuteAsync(tools, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal(["stop", "tools[0].name"], invalid.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).Order());
    }

    [Fact]
    public async Task Execute_SameTaskTwice_IsDeterministic()
    {
        var first = await fixture.Router.ExecuteAsync(Task("explain dependency injection"), deadline: DateTime.UtcNow.AddSeconds(20));
        var second = await fixture.Router.ExecuteAsync(Task("explain dependency injection"), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(first.Content, second.Content);
        Assert.NotEqual(first.ExecutionId, second.ExecutionId);
    }

    [Fact]
    public async Task Execute_SmallMaxTokens_StopsAtLengthWithExactCount()
    {
        var response = await fixture.Router.ExecuteAsync(Task(maxTokens: 12), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(FinishReason.Length, response.FinishReason);
        Assert.Equal(12, response.Usage.OutputTokens);
    }

    [Fact]
    public async Task StreamExecute_Task_StartsThenDeltasThenFinalWithUsage()
    {
        using var call = fixture.Router.StreamExecute(Task(), deadline: DateTime.UtcNow.AddSeconds(20));
        var events = new List<StreamExecuteResponse>();
        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            events.Add(item);
        }

        Assert.Equal(StreamExecuteResponse.EventOneofCase.Started, events[0].EventCase);
        Assert.NotEmpty(events[0].Started.Plan.Candidates);
        Assert.Equal(StreamExecuteResponse.EventOneofCase.Final, events[^1].EventCase);
        var deltas = events.Skip(1).SkipLast(1).ToList();
        Assert.True(deltas.Count >= 2, $"expected several deltas, got {deltas.Count}");
        Assert.All(deltas, d => Assert.Equal(StreamExecuteResponse.EventOneofCase.Delta, d.EventCase));
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Delta.Index));

        var final = events[^1].Final;
        Assert.Equal(events[0].Started.ExecutionId, final.ExecutionId);
        Assert.True(final.Usage.OutputTokens > 0);
        Assert.NotEqual(FinishReason.Unspecified, final.FinishReason);

        // The streamed text is the same answer the unary call gives.
        var unary = await fixture.Router.ExecuteAsync(Task(), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(unary.Content, string.Concat(deltas.Select(d => d.Delta.Text)));
        Assert.Equal(unary.Usage.OutputTokens, final.Usage.OutputTokens);
    }

    [Fact]
    public async Task Route_Task_ReturnsRankedCandidatesWithReasons()
    {
        var response = await fixture.Router.RouteAsync(new ExecuteRequest
        {
            TaskType = TaskType.CodeReview,
            Prompt = "/sec review this authentication flow, then propose fixes",
        }, deadline: DateTime.UtcNow.AddSeconds(10));

        var plan = response.Plan;
        Assert.Equal(Strategy.Single, plan.Strategy);
        Assert.Equal(Persona.SecurityAnalyst, plan.Analysis.Persona);
        Assert.Equal(ContextType.Security, plan.Analysis.ContextType);
        Assert.NotEmpty(plan.Candidates);
        Assert.All(plan.Candidates, c => Assert.NotEmpty(c.Reasons));
        // Ranked by score, except that the bandit may move one of the leading candidates first (and says so).
        var rest = plan.Candidates.Skip(1).ToList();
        Assert.Equal(rest.OrderByDescending(c => c.Score).Select(c => c.Model), rest.Select(c => c.Model));
        if (plan.Candidates[0].Score < plan.Candidates.Max(c => c.Score))
        {
            Assert.Contains(plan.Reasons, r => r.StartsWith("bandit", StringComparison.Ordinal) && r.Contains(plan.Candidates[0].Model, StringComparison.Ordinal));
        }
        Assert.InRange(plan.Confidence, 0.1, 1);
    }

    [Fact]
    public async Task Execute_InvalidInput_InvalidArgumentWithFieldViolations()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = " ", Temperature = 3 },
            deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var status = ex.GetRpcStatus();
        Assert.NotNull(status);
        var info = status.GetDetail<ErrorInfo>();
        Assert.Equal("INVALID_ARGUMENT", info.Reason);
        Assert.Equal("monkeycoder", info.Domain);
        var fields = status.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();
        Assert.Contains("prompt", fields);
        Assert.Contains("temperature", fields);
    }

    [Fact]
    public async Task Execute_DeadlineShorterThanLatency_DeadlineExceeded()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Router.ExecuteAsync(
            Task(), deadline: DateTime.UtcNow.AddMilliseconds(60)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);

        // The service is still healthy and answering afterwards.
        var ok = await fixture.Router.ExecuteAsync(Task(maxTokens: 5), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(ExecutionStatus.Completed, ok.Status);
    }

    [Fact]
    public async Task StreamExecute_CallerCancels_UpstreamGenerationStops()
    {
        var prompt = $"write a long report {Guid.NewGuid():N}";
        using var cts = new CancellationTokenSource();
        using var call = fixture.Router.StreamExecute(Task(prompt, maxTokens: 4000), cancellationToken: cts.Token);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None)); // started
        var executionId = call.ResponseStream.Current.Started.ExecutionId;
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None)); // first delta
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.True(
            await fixture.Host.WaitForOutputAsync(l => l.Contains("stopped by the caller", StringComparison.Ordinal), TimeSpan.FromSeconds(5)),
            "the simulated provider did not stop generating after the caller cancelled");

        // Exactly one usage record, cancelled, with the attempt that streamed (its tokens are usage).
        var usage = new UsageService.UsageServiceClient(fixture.Channel);
        List<ExecutionRecord> records = [];
        for (var i = 0; i < 100 && records.Count == 0; i++)
        {
            await System.Threading.Tasks.Task.Delay(100);
            records = (await usage.ListExecutionsAsync(new ListExecutionsRequest { PageSize = 500 })).Executions.Where(e => e.ExecutionId == executionId).ToList();
        }

        var record = Assert.Single(records);
        Assert.Equal(ExecutionStatus.Cancelled, record.Status);
        Assert.Equal("cancelled", Assert.Single(record.Attempts).Outcome);
        Assert.True(record.Usage.OutputTokens > 0, "the content streamed before the cancel is usage");
    }

    [Fact]
    public async Task Health_Overall_AndRouterService_Serving()
    {
        var health = new Health.HealthClient(fixture.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "monkeycoder.v1.RouterService" })).Status);
    }

    [Fact]
    public async Task ListModelsAndProviders_EmbeddedDefaults_ShowSimulated()
    {
        var providers = await fixture.Models.ListProvidersAsync(new ListProvidersRequest());
        var simulated = Assert.Single(providers.Providers, p => p.Name == "simulated");
        Assert.Equal(HealthState.Healthy, simulated.Health);
        var models = await fixture.Models.ListModelsAsync(new ListModelsRequest { Provider = "simulated" });
        Assert.NotEmpty(models.Models);
        Assert.All(models.Models, m => Assert.True(m.ContextWindow > 0 && m.MaxOutputTokens > 0));
    }
}
