using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>The migration runner against a real PostgreSQL: concurrent-safe and idempotent.</summary>
public sealed class MigrationTests
{
    [Fact]
    public async Task Migrate_FourProcessesAtOnceThenAgain_EachMigrationAppliedExactlyOnce()
    {
        var url = await TestServices.CreateDatabaseAsync();
        var environment = new Dictionary<string, string> { ["DATABASE_URL"] = url };

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => HostProcess.RunServiceCommandAsync(["migrate"], environment, TimeSpan.FromSeconds(60))));
        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.Output));
        // Exactly one process applied the migrations; the others waited on the lock and found nothing to do.
        Assert.Single(runs, r => r.Output.Contains("migrate: applied 0001_identity", StringComparison.Ordinal));
        Assert.Equal(3, runs.Count(r => r.Output.Contains("up to date", StringComparison.Ordinal)));

        var again = await HostProcess.RunServiceCommandAsync(["migrate"], environment, TimeSpan.FromSeconds(60));
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("up to date", again.Output, StringComparison.Ordinal);

        await using var db = TestServices.Open(url);
        await using var command = db.CreateCommand("SELECT string_agg(name, ',' ORDER BY version), count(*) FROM schema_migrations");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.StartsWith("0001_identity", reader.GetString(0), StringComparison.Ordinal);
        var count = reader.GetInt64(1);
        await reader.DisposeAsync();

        await using var tables = db.CreateCommand("""
            SELECT count(*) FROM information_schema.tables
            WHERE table_name IN ('users', 'api_keys', 'refresh_tokens', 'device_authorizations', 'audit_events')
            """);
        Assert.Equal(5L, await tables.ExecuteScalarAsync());
        Report.Write("migrations-applied-once", count);
    }

    [Fact]
    public async Task Migrate_NoDatabaseUrl_ExitsWithMessage()
    {
        var run = await HostProcess.RunServiceCommandAsync(["migrate"], new Dictionary<string, string>(), TimeSpan.FromSeconds(60));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("DATABASE_URL", run.Output, StringComparison.Ordinal);
    }
}
