using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using StackExchange.Redis;

namespace MonkeyCoder.EndToEnd.Tests.Api;

/// <summary>
/// Two Service replicas on one Redis learn together: executions on replica A, rated through
/// replica B's Feedback RPC, change how replica B routes a simple prompt.
/// </summary>
public sealed class SharedLearningTests
{
    /// <summary>A Redis database of this test's own, emptied first, so no other test's statistics count.</summary>
    private const int RedisDatabase = 9;

    [Fact]
    public async Task Feedback_ThroughTwoReplicasOnOneRedis_MovesSimplePromptRoutingOnBoth()
    {
        var url = TestServers.RedisUrlWithDatabase(RedisDatabase);
        var uri = new Uri(url);
        using (var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port},allowAdmin=true"))
        {
            await redis.GetServer(uri.Host, uri.Port).FlushDatabaseAsync(RedisDatabase);
        }

        var environment = new Dictionary<string, string>
        {
            ["REDIS_URL"] = url,
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
            ["CACHE_ENABLED"] = "false",
        };
        var hosts = await Task.WhenAll(HostProcess.StartServiceAsync(environment), HostProcess.StartServiceAsync(environment));
        try
        {
            using var channelA = ServiceFixture.AuthenticatedChannel(hosts[0].Address, ServiceFixture.AdminKey);
            using var channelB = ServiceFixture.AuthenticatedChannel(hosts[1].Address, ServiceFixture.AdminKey);
            var a = new RouterService.RouterServiceClient(channelA);
            var b = new RouterService.RouterServiceClient(channelB);
            var simple = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "hi, what is 2 + 2?", MaxTokens = 50 };

            async Task<double> ProShareOnB(int plans)
            {
                var pro = 0;
                for (var i = 0; i < plans; i++)
                {
                    var plan = (await b.RouteAsync(simple, deadline: DateTime.UtcNow.AddSeconds(20))).Plan;
                    pro += plan.Candidates[0].Model == "sim-pro" ? 1 : 0;
                }

                return pro / (double)plans;
            }

            // Simple prompt: sim-fast is cheaper and has the cheap-model bonus.
            var before = await ProShareOnB(40);

            // Callers rate sim-pro 5 and sim-fast 1; executions on A, ratings through B.
            var rated = 0;
            for (var i = 0; i < 120; i++)
            {
                var executed = await a.ExecuteAsync(simple, deadline: DateTime.UtcNow.AddSeconds(30));
                var feedback = await b.FeedbackAsync(new FeedbackRequest { ExecutionId = executed.ExecutionId, Rating = executed.Model == "sim-pro" ? 5 : 1 }, deadline: DateTime.UtcNow.AddSeconds(20));
                Assert.Equal(executed.Model, feedback.Model);
                rated++;
            }

            var after = await ProShareOnB(40);
            Assert.True(after > 0.6 && after > before + 0.3, $"sim-pro first on replica B: {before:P0} of simple prompts before {rated} ratings, {after:P0} after");

            // Replica A reads the same statistics.
            var planA = (await a.RouteAsync(simple, deadline: DateTime.UtcNow.AddSeconds(20))).Plan;
            Assert.Contains(planA.Candidates.SelectMany(c => c.Reasons), r => r.StartsWith("learned on general", StringComparison.Ordinal));
        }
        finally
        {
            var errors = hosts.SelectMany(h => h.ErrorLines).ToList();
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }

            Assert.True(errors.Count == 0, "A replica logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}
