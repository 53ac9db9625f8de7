using System.Collections.Concurrent;
using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using Npgsql;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>A Service on a database of its own whose spill folder is shared with another Service; small queue so an outage spills.</summary>
public sealed class SharedSpillHost(int redisDatabase, string spillPath) : StorageFixture(redisDatabase, spillPath)
{
    protected override IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(base.Environment)
    {
        ["MonkeyCoder__Usage__QueueCapacity"] = "100",
        ["MonkeyCoder__Usage__BatchSize"] = "10",
    };
}

/// <summary>
/// Two Services, two databases on one PostgreSQL server (same system_identifier, so the database
/// name is what tells them apart), one spill folder: the case where a busy neighbour used to
/// replay another process's billing into its own database.
/// </summary>
public sealed class TwoDatabasesFixture : IAsyncLifetime
{
    public string SpillPath { get; } = Path.Combine(Path.GetTempPath(), "mc-shared-spill-" + Guid.NewGuid().ToString("N")[..8]);

    public SharedSpillHost A { get; private set; } = null!;

    public SharedSpillHost B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        A = new SharedSpillHost(12, SpillPath);
        B = new SharedSpillHost(13, SpillPath);
        await Task.WhenAll(A.InitializeAsync(), B.InitializeAsync());
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(A.DisposeAsync(), B.DisposeAsync());
        if (Directory.Exists(SpillPath))
        {
            Directory.Delete(SpillPath, recursive: true);
        }
    }

    public IReadOnlyList<string> SpillFiles() => Directory.Exists(SpillPath) ? Directory.GetFiles(SpillPath) : [];
}

[Collection(OutageCollection.Name)]
public sealed class SpillIdentityTests(TwoDatabasesFixture fixture) : IClassFixture<TwoDatabasesFixture>
{
    [Fact]
    public async Task Usage_TwoDatabasesShareASpillFolderThroughAPostgresRestart_EveryEventInItsOwnDatabaseOnly()
    {
        var executed = new Dictionary<SharedSpillHost, ConcurrentBag<string>> { [fixture.A] = [], [fixture.B] = [] };
        var failed = 0;
        using var stop = new CancellationTokenSource();
        var load = new[] { fixture.A, fixture.A, fixture.B, fixture.B }.Select(async (host, worker) =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var response = await host.Router.ExecuteAsync(StorageFixture.SmallTask($"spill {worker} {i++} {Guid.NewGuid():N}"), deadline: DateTime.UtcNow.AddSeconds(10));
                    executed[host].Add(response.ExecutionId);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }).ToList();

        await Task.Delay(700);
        await TestServers.StopPostgresAsync();
        bool BothSpilled() => fixture.SpillFiles().Select(Path.GetFileName).Select(n => n!.Split('-')[1]).Distinct().Count() >= 2;
        var spilled = false;
        try
        {
            for (var i = 0; i < 300 && !spilled; i++)
            {
                await Task.Delay(100);
                spilled = BothSpilled();
            }

            await Task.Delay(500);
        }
        finally
        {
            await TestServers.StartPostgresAsync();
        }

        Assert.True(spilled, "both Services should have spilled to the shared folder during the outage: " + string.Join(", ", fixture.SpillFiles().Select(Path.GetFileName)));
        await Task.Delay(700);
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Equal(0, failed);

        // Each database holds every event of its own Service and none of the other's.
        var inA = await WaitForExecutionIdsAsync(fixture.A, executed[fixture.A]);
        var inB = await WaitForExecutionIdsAsync(fixture.B, executed[fixture.B]);
        Report.Write("spill-identity-executions-a", executed[fixture.A].Count);
        Report.Write("spill-identity-executions-b", executed[fixture.B].Count);
        Assert.True(executed[fixture.A].Count > 20 && executed[fixture.B].Count > 20, $"too little load: {executed[fixture.A].Count} / {executed[fixture.B].Count}");
        Assert.Empty(executed[fixture.A].Except(inA));
        Assert.Empty(executed[fixture.B].Except(inB));
        Assert.Empty(executed[fixture.A].Intersect(inB));
        Assert.Empty(executed[fixture.B].Intersect(inA));

        foreach (var host in new[] { fixture.A, fixture.B })
        {
            Assert.True(host.Host.Output.Any(l => l.Contains("spilled usage events from spill-", StringComparison.Ordinal)), "a Service never replayed its own spill");
        }

        // Whichever replayed first saw the other's file and said it left it alone.
        Assert.Contains(fixture.A.Host.Output.Concat(fixture.B.Host.Output), l => l.Contains("usage spill files alone", StringComparison.Ordinal));
        for (var i = 0; i < 50 && fixture.SpillFiles().Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(fixture.SpillFiles());
    }

    [Fact]
    public async Task SpillCommand_OrphanedFilesOfTwoDatabases_ListsBothAndReplaysOnlyDatabaseUrls()
    {
        var folder = new Core.Usage.UsageSpillFolder(Path.Combine(Path.GetTempPath(), "mc-orphans-" + Guid.NewGuid().ToString("N")[..8]));
        try
        {
            var identityA = await IdentityAsync(fixture.A.DatabaseUrl);
            var identityB = await IdentityAsync(fixture.B.DatabaseUrl);
            Assert.Equal(identityA.SystemIdentifier, identityB.SystemIdentifier);
            Assert.NotEqual(identityA.Tag, identityB.Tag);
            var now = DateTimeOffset.UtcNow;
            Core.Usage.UsageEvent Orphan(string id) => new() { ExecutionId = id, CreatedAt = now, PrincipalId = "orphan", InputTokens = 3, OutputTokens = 4, CostUsd = 0.001, Status = 1 };
            var idA = "orphan-a-" + Guid.NewGuid().ToString("N");
            var idB = "orphan-b-" + Guid.NewGuid().ToString("N");
            // Written by a "process" that no longer runs (a pid above Linux's pid_max): adoptable at once.
            var fileA = Path.Combine(folder.Directory, $"spill-{identityA.Tag}-999999999-{Guid.NewGuid():N}.jsonl");
            var fileB = Path.Combine(folder.Directory, $"spill-{identityB.Tag}-999999999-{Guid.NewGuid():N}.jsonl");
            folder.Append(fileA, identityA, [Orphan(idA)]);
            folder.Append(fileB, identityB, [Orphan(idB)]);

            // The same database through another URL (localhost instead of 127.0.0.1) is the same identity.
            var otherUrlForA = fixture.A.DatabaseUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
            var environment = new Dictionary<string, string> { ["DATABASE_URL"] = otherUrlForA, ["USAGE_SPILL_PATH"] = folder.Directory };
            var (listCode, list) = await HostProcess.RunServiceCommandAsync(environment, TimeSpan.FromSeconds(60), "usage", "spill", "list");
            Assert.True(listCode == 0, list);
            Assert.Contains("2 file(s)", list, StringComparison.Ordinal);
            Assert.Contains(Path.GetFileName(fileA) + "  1 events", list, StringComparison.Ordinal);
            Assert.Contains("<- DATABASE_URL's database", list.Split('\n').Single(l => l.Contains(Path.GetFileName(fileA), StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.Contains("(another database)", list.Split('\n').Single(l => l.Contains(Path.GetFileName(fileB), StringComparison.Ordinal)), StringComparison.Ordinal);

            var (replayCode, replay) = await HostProcess.RunServiceCommandAsync(environment, TimeSpan.FromSeconds(60), "usage", "spill", "replay");
            Assert.True(replayCode == 0, replay);
            Assert.Contains("1 events from 1 file(s)", replay, StringComparison.Ordinal);
            Assert.Contains("left 1 file(s) of other databases", replay, StringComparison.Ordinal);
            Assert.Contains(idA, await WaitForExecutionIdsAsync(fixture.A, [idA]));
            Assert.DoesNotContain(idB, await WaitForExecutionIdsAsync(fixture.A, []));
            Assert.DoesNotContain(idB, await WaitForExecutionIdsAsync(fixture.B, []));
            Assert.Equal([fileB], Directory.GetFiles(folder.Directory));

            // A file written before spill labels (no header, usage-*.jsonl) waits for --include-unlabelled,
            // as docs/operations.md tells operators; another database's file still stays.
            var idOld = "orphan-unlabelled-" + Guid.NewGuid().ToString("N");
            var fileOld = Path.Combine(folder.Directory, $"usage-999999999-{Guid.NewGuid():N}.jsonl");
            folder.Append(fileOld, null, [Orphan(idOld)]);
            var (plainCode, plain) = await HostProcess.RunServiceCommandAsync(environment, TimeSpan.FromSeconds(60), "usage", "spill", "replay");
            Assert.True(plainCode == 0, plain);
            Assert.Contains("0 events from 0 file(s)", plain, StringComparison.Ordinal);
            Assert.True(File.Exists(fileOld), plain);
            var (oldCode, old) = await HostProcess.RunServiceCommandAsync(environment, TimeSpan.FromSeconds(60), "usage", "spill", "replay", "--include-unlabelled");
            Assert.True(oldCode == 0, old);
            Assert.Contains("1 events from 1 file(s)", old, StringComparison.Ordinal);
            Assert.Contains(idOld, await WaitForExecutionIdsAsync(fixture.A, [idOld]));
            Assert.Equal([fileB], Directory.GetFiles(folder.Directory));
        }
        finally
        {
            if (Directory.Exists(folder.Directory))
            {
                Directory.Delete(folder.Directory, recursive: true);
            }
        }
    }

    private static async Task<Core.Usage.UsageStoreIdentity> IdentityAsync(string databaseUrl)
    {
        await using var connection = new NpgsqlConnection(TestServers.ToConnectionString(databaseUrl));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT system_identifier::text, current_database() FROM pg_control_system()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Core.Usage.UsageStoreIdentity(reader.GetString(0), reader.GetString(1));
    }

    /// <summary>The execution ids in the host's database once it holds all of <paramref name="expected"/> (bounded wait).</summary>
    private static async Task<HashSet<string>> WaitForExecutionIdsAsync(SharedSpillHost host, IEnumerable<string> expected)
    {
        var want = expected.ToHashSet(StringComparer.Ordinal);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        HashSet<string> ids;
        do
        {
            ids = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                await using var connection = new NpgsqlConnection(TestServers.ToConnectionString(host.DatabaseUrl));
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT execution_id FROM usage_events", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    ids.Add(reader.GetString(0));
                }
            }
            catch (NpgsqlException)
            {
                // PostgreSQL is still coming back.
            }

            if (want.IsSubsetOf(ids))
            {
                return ids;
            }

            await Task.Delay(200);
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(60));

        return ids;
    }
}
