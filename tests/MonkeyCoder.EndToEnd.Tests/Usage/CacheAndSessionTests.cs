using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

[Collection(StorageCollection.Name)]
public sealed class CacheAndSessionTests(StorageFixture fixture)
{
    private static ExecuteRequest Deterministic(string prompt, CacheOptions? cache = null) => new()
    {
        TaskType = TaskType.CodeGeneration,
        Prompt = prompt,
        MaxTokens = 60,
        Temperature = 0,
        Cache = cache,
    };

    [Fact]
    public async Task Execute_DeterministicRepeat_ServedFromCacheAtNoCost()
    {
        var prompt = $"cache me {Guid.NewGuid():N}";
        var first = await fixture.Router.ExecuteAsync(Deterministic(prompt));
        var second = await fixture.Router.ExecuteAsync(Deterministic(prompt));

        Assert.False(first.CacheHit);
        Assert.True(first.Usage.CostUsd > 0);
        Assert.True(second.CacheHit);
        Assert.Equal(first.Content, second.Content);
        Assert.Equal(first.Model, second.Model);
        Assert.Equal(0, second.Usage.CostUsd);
        Assert.Empty(second.Attempts);
        Assert.NotEqual(first.ExecutionId, second.ExecutionId);
        Report.Write("cache-hit-service-time-ms", second.Timing.Total.ToTimeSpan().TotalMilliseconds);
    }

    [Fact]
    public async Task Execute_Bypass_NeverCached()
    {
        var prompt = $"bypass {Guid.NewGuid():N}";
        await fixture.Router.ExecuteAsync(Deterministic(prompt));
        var bypassed = await fixture.Router.ExecuteAsync(Deterministic(prompt, new CacheOptions { Bypass = true }));
        Assert.False(bypassed.CacheHit);
        Assert.True(bypassed.Usage.CostUsd > 0);
    }

    [Fact]
    public async Task Execute_TemperatureAboveZero_CachedOnlyWhenOptedIn()
    {
        var prompt = $"warm {Guid.NewGuid():N}";
        var warm = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = prompt, MaxTokens = 30, Temperature = 0.7 };
        await fixture.Router.ExecuteAsync(warm);
        Assert.False((await fixture.Router.ExecuteAsync(warm)).CacheHit);

        var optIn = warm.Clone();
        optIn.Prompt += " opt-in";
        optIn.Cache = new CacheOptions { AllowNondeterministic = true };
        await fixture.Router.ExecuteAsync(optIn);
        Assert.True((await fixture.Router.ExecuteAsync(optIn)).CacheHit);
    }

    [Fact]
    public async Task Execute_IdenticalConcurrent_OneUpstreamCall()
    {
        var request = Deterministic($"single flight {Guid.NewGuid():N}");
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => fixture.Router.ExecuteAsync(request).ResponseAsync));

        Assert.Single(responses, r => !r.CacheHit);
        Assert.Equal(1, responses.Sum(r => r.Attempts.Count));
        Assert.Single(responses.Select(r => r.Content).Distinct());
        Assert.Equal(16, responses.Select(r => r.ExecutionId).Distinct().Count());
    }

    [Fact]
    public async Task StreamExecute_IdenticalConcurrent_OneUpstreamStreamSameAnswer()
    {
        var request = Deterministic($"stream flight {Guid.NewGuid():N}");
        request.MaxTokens = 200;
        async Task<(string Content, StreamFinal Final)> Read()
        {
            using var call = fixture.Router.StreamExecute(request);
            var text = new System.Text.StringBuilder();
            StreamFinal? final = null;
            await foreach (var e in call.ResponseStream.ReadAllAsync())
            {
                if (e.EventCase == StreamExecuteResponse.EventOneofCase.Delta)
                {
                    text.Append(e.Delta.Text);
                }
                else if (e.EventCase == StreamExecuteResponse.EventOneofCase.Final)
                {
                    final = e.Final;
                }
            }

            return (text.ToString(), final!);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Read()));
        Assert.All(results, r => Assert.NotNull(r.Final));
        Assert.Single(results.Select(r => r.Content).Distinct());
        Assert.Equal(1, results.Sum(r => r.Final.Attempts.Count));
        Assert.Single(results, r => !r.Final.CacheHit);
    }

    [Fact]
    public async Task Session_TwoTurns_HistorySentAndSessionServiceShowsIt()
    {
        var sessions = new SessionService.SessionServiceClient(fixture.Channel);
        var id = "s-" + Guid.NewGuid().ToString("N")[..12];
        var first = await fixture.Router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "what is a mutex?", MaxTokens = 40, SessionId = id });
        var second = await fixture.Router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "and a semaphore?", MaxTokens = 40, SessionId = id });

        // The second call carries the first exchange as history.
        Assert.True(second.Usage.InputTokens > first.Usage.InputTokens + first.Usage.OutputTokens / 2,
            $"history not sent: {first.Usage.InputTokens} then {second.Usage.InputTokens}");

        var session = await sessions.GetSessionAsync(new GetSessionRequest { SessionId = id });
        Assert.Equal(4, session.Turns.Count);
        Assert.Equal([TurnRole.User, TurnRole.Assistant, TurnRole.User, TurnRole.Assistant], session.Turns.Select(t => t.Role));
        Assert.Equal(first.Content, session.Turns[1].Content);

        var listed = await sessions.ListSessionsAsync(new ListSessionsRequest());
        Assert.Contains(listed.Sessions, s => s.SessionId == id && s.TurnCount == 4 && s.Title == "what is a mutex?");

        var markdown = await sessions.ExportSessionAsync(new ExportSessionRequest { SessionId = id });
        Assert.Contains("what is a mutex?", markdown.Content, StringComparison.Ordinal);
        var json = await sessions.ExportSessionAsync(new ExportSessionRequest { SessionId = id, Format = ExportFormat.Json });
        Assert.Equal(4, System.Text.Json.JsonDocument.Parse(json.Content).RootElement.GetArrayLength());

        Assert.True((await sessions.DeleteSessionAsync(new DeleteSessionRequest { SessionId = id })).Deleted);
        var gone = await Assert.ThrowsAsync<RpcException>(() => sessions.GetSessionAsync(new GetSessionRequest { SessionId = id }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }
}
