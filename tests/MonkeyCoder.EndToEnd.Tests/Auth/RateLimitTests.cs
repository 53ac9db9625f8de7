using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>Three Service replicas sharing one PostgreSQL database and one Redis.</summary>
public sealed class ThreeReplicaFixture : IAsyncLifetime
{
    public List<HostProcess> Hosts { get; } = [];

    public List<GrpcChannel> Admin { get; } = [];

    public async Task InitializeAsync()
    {
        var url = await TestServices.CreateDatabaseAsync();
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = url,
            ["REDIS_URL"] = TestServices.RedisUrl,
            ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
        };

        // Started together: migrations and the bootstrap key race on the same empty database.
        Hosts.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => HostProcess.StartServiceAsync(environment))));
        foreach (var host in Hosts)
        {
            Admin.Add(ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in Admin)
        {
            channel.Dispose();
        }

        var errors = Hosts.SelectMany(h => h.ErrorLines).ToList();
        foreach (var host in Hosts)
        {
            await host.DisposeAsync();
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("A replica logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}

public sealed class RateLimitTests(ThreeReplicaFixture fixture) : IClassFixture<ThreeReplicaFixture>
{
    [Fact]
    public async Task Execute_KeyWith60PerMinuteThroughThreeReplicas_Exactly60AdmittedRestRetryInfo()
    {
        var created = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0])
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "hammer", Scopes = { "execute" }, RequestsPerMinute = 60 }, deadline: DateTime.UtcNow.AddSeconds(20));
        var channels = fixture.Hosts.Select(h => ServiceFixture.AuthenticatedChannel(h.Address, created.Secret)).ToList();
        try
        {
            var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "ping", MaxTokens = 2 };
            const int Calls = 240;
            var admitted = 0;
            var retryInfos = new ConcurrentBag<TimeSpan>();
            var other = new ConcurrentBag<string>();
            var watch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, Calls), new ParallelOptions { MaxDegreeOfParallelism = 48 }, async (i, ct) =>
            {
                var client = new RouterService.RouterServiceClient(channels[i % channels.Count]);
                try
                {
                    await client.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
                    Interlocked.Increment(ref admitted);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
                {
                    var status = ex.GetRpcStatus();
                    if (status?.GetDetail<ErrorInfo>()?.Reason == "RATE_LIMITED" && status.GetDetail<RetryInfo>() is { } retry)
                    {
                        retryInfos.Add(retry.RetryDelay.ToTimeSpan());
                    }
                    else
                    {
                        other.Add("RESOURCE_EXHAUSTED without RATE_LIMITED/RetryInfo: " + ex.Status.Detail);
                    }
                }
                catch (RpcException ex)
                {
                    other.Add(ex.StatusCode + ": " + ex.Status.Detail);
                }
            });
            watch.Stop();

            Report.Write("rate-limit-3-replicas-limit", 60);
            Report.Write("rate-limit-3-replicas-admitted", admitted);
            Report.Write("rate-limit-3-replicas-overshoot", admitted - 60);
            Report.Write("rate-limit-3-replicas-burst-ms", watch.Elapsed.TotalMilliseconds);
            Assert.Empty(other);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(55), $"the burst took {watch.Elapsed}, longer than the window");
            Assert.Equal(60, admitted);
            Assert.Equal(Calls - 60, retryInfos.Count);
            Assert.All(retryInfos, d => Assert.InRange(d, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60)));
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    [Fact]
    public async Task ApiKey_CreatedOnOneReplica_WorksOnTheOthers()
    {
        var created = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[1])
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "shared", Scopes = { "models:read" } }, deadline: DateTime.UtcNow.AddSeconds(20));
        foreach (var host in fixture.Hosts)
        {
            using var channel = ServiceFixture.AuthenticatedChannel(host.Address, created.Secret);
            var models = await new ModelService.ModelServiceClient(channel).ListModelsAsync(new ListModelsRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.NotEmpty(models.Models);
        }
    }
}
