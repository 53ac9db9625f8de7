using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Storage;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>USAGE_RETENTION_DAYS against real PostgreSQL: the Service purges what is older at start-up.</summary>
public sealed class UsageRetentionTests
{
    private const int RetentionDays = 30;

    [Fact]
    public async Task UsageRetention_EventsOlderThanRetentionDays_PurgedAtStartAndNewerKept()
    {
        // A migrated database holding usage of various ages, written the way the Service writes it.
        var databaseUrl = await TestServers.CreateDatabaseAsync();
        var principal = "usr_retention_" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var ages = new Dictionary<string, TimeSpan>
        {
            ["old-45d"] = TimeSpan.FromDays(45),
            ["old-31d"] = TimeSpan.FromDays(RetentionDays + 1),
            ["kept-29d"] = TimeSpan.FromDays(RetentionDays - 1),
            ["kept-1h"] = TimeSpan.FromHours(1),
        };
        await using (var dataSource = TestServices.Open(databaseUrl))
        {
            await MigrationRunner.ApplyAsync(dataSource, NullLogger.Instance, CancellationToken.None);
            await new PostgresUsageStore(dataSource).WriteAsync(
                ages.Select(a => new UsageEvent
                {
                    ExecutionId = $"{a.Key}-{principal}",
                    CreatedAt = now - a.Value,
                    PrincipalId = principal,
                    Provider = "simulated",
                    Model = "sim-fast",
                    Status = (int)ExecutionStatus.Completed,
                    InputTokens = 10,
                    OutputTokens = 20,
                }).ToList(),
                CancellationToken.None);
        }

        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["DATABASE_URL"] = databaseUrl,
            ["USAGE_RETENTION_DAYS"] = RetentionDays.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
        });
        Assert.True(await host.WaitForOutputAsync(l => l.Contains($"Purged 2 usage events older than {RetentionDays} days", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
            "no purge logged:\n" + string.Join('\n', host.Output.TakeLast(30)));

        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var usage = new UsageService.UsageServiceClient(channel);
        var listed = await usage.ListExecutionsAsync(new ListExecutionsRequest { PrincipalId = principal, PageSize = 50 });
        Assert.Equal(
            [$"kept-1h-{principal}", $"kept-29d-{principal}"],
            listed.Executions.Select(e => e.ExecutionId));

        // The rows are gone from the table, not just hidden from the API.
        await using (var dataSource = TestServices.Open(databaseUrl))
        await using (var count = dataSource.CreateCommand("SELECT count(*) FROM usage_events"))
        {
            Assert.Equal(2L, (long)(await count.ExecuteScalarAsync())!);
        }

        var errors = host.ErrorLines.ToList();
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }
}
