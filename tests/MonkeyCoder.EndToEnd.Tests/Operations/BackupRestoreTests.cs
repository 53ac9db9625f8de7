using System.Diagnostics;
using System.Text.RegularExpressions;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Operations;

/// <summary>
/// The restore drill from docs/operations.md against the real PostgreSQL of scripts/services.sh:
/// scripts/backup.sh, drop, scripts/restore.sh, compare. Works in its own fresh database so it
/// does not depend on (or disturb) the service's schema.
/// </summary>
public sealed partial class BackupRestoreTests : IAsyncLifetime
{
    private const int Rows = 5000;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _database = "drill_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _backupDir = Path.Combine(Path.GetTempPath(), "monkey-backup-" + Guid.NewGuid().ToString("N")[..8]);
    private string _serverUrl = null!;

    private string DrillUrl => _serverUrl + "/" + _database;

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("MONKEY_TEST_DATABASE_URL");
        Assert.False(string.IsNullOrEmpty(url), "MONKEY_TEST_DATABASE_URL is not set: run `source scripts/services.sh start` first (scripts/test.sh does).");
        _serverUrl = url![..url.LastIndexOf('/')];
        await PsqlAsync(url, $"CREATE DATABASE {_database}");
        await PsqlAsync(DrillUrl, $"""
            CREATE TABLE drill_items (id bigserial PRIMARY KEY, name text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX drill_items_name ON drill_items (name);
            INSERT INTO drill_items (name, payload, created_at)
              SELECT 'item-' || g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7)), timestamptz '2026-01-01' + g * interval '1 minute'
              FROM generate_series(1, {Rows}) g;
            """);
    }

    public async Task DisposeAsync()
    {
        await PsqlAsync(_serverUrl + "/postgres", $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        if (Directory.Exists(_backupDir))
        {
            Directory.Delete(_backupDir, recursive: true);
        }
    }

    [Fact]
    public async Task BackupThenRestore_DroppedTable_RestoresEveryRowAndTheSequence()
    {
        var watch = Stopwatch.StartNew();
        var before = await FingerprintAsync();
        Assert.StartsWith($"{Rows}|", before, StringComparison.Ordinal);

        var backup = await RunAsync("backup.sh", [_backupDir], new() { ["DATABASE_URL"] = DrillUrl });
        Assert.True(backup.ExitCode == 0, backup.Output);
        var file = backup.Output.Trim().Split('\n')[^1];
        Assert.Matches(DumpName(), Path.GetFileName(file));
        Assert.True(new FileInfo(file).Length > 0);

        await PsqlAsync(DrillUrl, "DROP TABLE drill_items");
        Assert.Equal("0", await ScalarAsync("SELECT count(*) FROM pg_tables WHERE tablename = 'drill_items'"));

        var restore = await RunAsync("restore.sh", ["latest", _backupDir], new() { ["DATABASE_URL"] = DrillUrl });
        Assert.True(restore.ExitCode == 0, restore.Output);
        Assert.Equal(before, await FingerprintAsync());
        // The sequence came back too: the next id continues after the restored rows.
        Assert.Equal((Rows + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), await ScalarAsync("INSERT INTO drill_items (name) VALUES ('after') RETURNING id"));
        Report.Write("backup-restore-drill-5000-rows-ms", watch.Elapsed.TotalMilliseconds);
    }

    [Fact]
    public async Task Backup_MoreRunsThanBackupKeep_KeepsOnlyTheNewest()
    {
        var made = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var run = await RunAsync("backup.sh", [_backupDir], new() { ["DATABASE_URL"] = DrillUrl, ["BACKUP_KEEP"] = "2" });
            Assert.True(run.ExitCode == 0, run.Output);
            made.Add(run.Output.Trim().Split('\n')[^1]);
        }

        var left = Directory.GetFiles(_backupDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(made.Skip(1).Select(Path.GetFileName).Order(StringComparer.Ordinal), left);
    }

    [Fact]
    public async Task Backup_UnreachableDatabase_ExitsThreeAndLeavesNoFile()
    {
        var run = await RunAsync("backup.sh", [_backupDir], new() { ["DATABASE_URL"] = _serverUrl + "/no_such_database" });
        Assert.True(run.ExitCode == 3, run.Output);
        Assert.Empty(Directory.Exists(_backupDir) ? Directory.GetFiles(_backupDir) : []);
    }

    [Fact]
    public async Task Backup_NoConnectionSettings_ExitsTwo()
    {
        var run = await RunAsync("backup.sh", [_backupDir], new() { ["DATABASE_URL"] = "", ["PGHOST"] = "", ["PGDATABASE"] = "" });
        Assert.True(run.ExitCode == 2, run.Output);
        Assert.Contains("DATABASE_URL", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_CorruptFile_ExitsThreeAndChangesNothing()
    {
        var before = await FingerprintAsync();
        Directory.CreateDirectory(_backupDir);
        var corrupt = Path.Combine(_backupDir, "monkeycoder-20260101T000000Z.dump");
        await File.WriteAllTextAsync(corrupt, "PGDMP this is not a dump");

        var run = await RunAsync("restore.sh", [corrupt], new() { ["DATABASE_URL"] = DrillUrl });
        Assert.True(run.ExitCode == 3, run.Output);
        Assert.Equal(before, await FingerprintAsync());
    }

    [Fact]
    public async Task Restore_MissingFile_ExitsTwo()
    {
        var run = await RunAsync("restore.sh", [Path.Combine(_backupDir, "nope.dump")], new() { ["DATABASE_URL"] = DrillUrl });
        Assert.True(run.ExitCode == 2, run.Output);
    }

    [GeneratedRegex(@"^monkeycoder-\d{8}T\d{6}Z\.dump$")]
    private static partial Regex DumpName();

    /// <summary>Row count and a hash over every row in id order: equal fingerprints mean equal tables.</summary>
    private Task<string> FingerprintAsync() =>
        ScalarAsync("SELECT count(*) || '|' || md5(string_agg(id || ':' || name || ':' || coalesce(payload::text, '') || ':' || created_at, ',' ORDER BY id)) FROM drill_items");

    private async Task<string> ScalarAsync(string sql) => (await PsqlAsync(DrillUrl, sql, tuplesOnly: true)).Trim();

    private static async Task<string> PsqlAsync(string url, string sql, bool tuplesOnly = false)
    {
        string[] args = tuplesOnly ? ["-X", "-v", "ON_ERROR_STOP=1", "-q", "-A", "-t", "-d", url, "-c", sql] : ["-X", "-v", "ON_ERROR_STOP=1", "-q", "-d", url, "-c", sql];
        var (exitCode, output) = await ExecAsync("psql", args, new());
        Assert.True(exitCode == 0, $"psql failed: {output}");
        return output;
    }

    private static Task<(int ExitCode, string Output)> RunAsync(string script, string[] args, Dictionary<string, string> environment) =>
        ExecAsync("bash", [Path.Combine(HostProcess.RepoRoot(), "scripts", script), .. args], environment);

    private static async Task<(int ExitCode, string Output)> ExecAsync(string file, string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Limit);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
