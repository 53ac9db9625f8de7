using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Storage;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>The bootstrap admin against a real PostgreSQL: replicas starting together on an empty database.</summary>
public sealed class BootstrapAdminTests
{
    private const int Replicas = 6;

    [Fact]
    public async Task StartAsync_SixReplicasAtOnceOnAnEmptyDatabase_ExactlyOneAdminKeyAuditedAndPrinted()
    {
        var url = await TestServices.CreateDatabaseAsync();
        await using (var migrations = TestServices.Open(url))
        {
            await MigrationRunner.ApplyAsync(migrations, NullLogger.Instance, CancellationToken.None);
        }

        // Each replica with its own connection pool, as separate processes would have.
        var sources = Enumerable.Range(0, Replicas).Select(_ => TestServices.Open(url)).ToList();
        var printed = new StringWriter();
        // The bootstrap-key output hook: the test hooks print the key to this writer instead of stdout.
        var hooks = MonkeyCoder.Core.Hosting.TestHooks.ForTests(TextWriter.Synchronized(printed));
        try
        {
            var options = Options.Create(new AuthOptions { JwtSecretKey = new string('s', 48) });
            var replicas = sources.Select(source =>
            {
                var store = new PostgresIdentityStore(source);
                return new BootstrapAdmin(store, new AuditTrail(store, TimeProvider.System, NullLogger<AuditTrail>.Instance),
                    new AccessTokens(options, TimeProvider.System), options, Options.Create(new MonkeyCoder.Core.Configuration.HostingOptions()), TimeProvider.System,
                    NullLogger<BootstrapAdmin>.Instance, hooks);
            }).ToList();
            // Connections opened beforehand and one signal to start: the replicas really race.
            foreach (var source in sources)
            {
                await using var warm = source.CreateCommand("SELECT 1");
                await warm.ExecuteScalarAsync();
            }

            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var starts = replicas.Select(async r =>
            {
                await go.Task;
                await r.StartAsync(CancellationToken.None);
            }).ToList();
            go.SetResult();
            await Task.WhenAll(starts).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }

        await using var db = TestServices.Open(url);
        await using (var keys = db.CreateCommand("SELECT count(*) FROM api_keys WHERE 'admin' = ANY (scopes)"))
        {
            Assert.Equal(1L, await keys.ExecuteScalarAsync());
        }

        await using (var audit = db.CreateCommand($"SELECT count(*) FROM audit_events WHERE kind = '{AuditKinds.BootstrapKey}'"))
        {
            Assert.Equal(1L, await audit.ExecuteScalarAsync());
        }

        var banners = printed.ToString().Split("Monkey Coder bootstrap admin API key").Length - 1;
        Assert.Equal(1, banners);
    }
}
