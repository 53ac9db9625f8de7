using System.Globalization;
using Microsoft.Extensions.Configuration;
using MonkeyCoder.Core.Storage;
using Npgsql;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// <c>monkey-coder-service usage spill list|replay [--include-unlabelled]</c>: inspects the spill
/// folder (USAGE_SPILL_PATH, or its default) and replays the files meant for DATABASE_URL's
/// database, e.g. files orphaned by a process that will not come back. Exit codes: 0 done,
/// 1 the database could not be reached or written, 2 bad usage or DATABASE_URL missing.
/// </summary>
public static class UsageSpillCommand
{
    private const string Usage = "usage: monkey-coder-service usage spill list|replay [--include-unlabelled]  (DATABASE_URL names the database; USAGE_SPILL_PATH the folder)";

    public static bool IsCommand(string[] args) => args is ["usage", "spill", ..];

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextWriter output)
    {
        var verb = args.Length > 2 ? args[2] : "";
        var includeUnlabelled = args.Skip(3).Contains("--include-unlabelled", StringComparer.Ordinal);
        if (verb is not ("list" or "replay") || args.Skip(3).Any(a => a != "--include-unlabelled"))
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }

        var options = new UsageOptions { SpillPath = configuration[$"{UsageOptions.Section}:SpillPath"] };
        var folder = new UsageSpillFolder(options.ResolvedSpillPath);
        var databaseUrl = configuration[StorageServiceExtensions.DatabaseUrlKey];
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            if (verb == "replay")
            {
                await output.WriteLineAsync("usage spill replay: DATABASE_URL (MonkeyCoder:Database:Url) is not set: it names the database to replay into.");
                return 2;
            }

            await ListAsync(folder, null, output);
            return 0;
        }

        await using var dataSource = StorageServiceExtensions.CreateDataSource(databaseUrl);
        var store = new PostgresUsageStore(dataSource);
        UsageStoreIdentity identity;
        try
        {
            identity = await store.GetIdentityAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            await output.WriteLineAsync($"usage spill {verb}: cannot reach DATABASE_URL's database: {ex.Message}");
            if (verb == "list")
            {
                await ListAsync(folder, null, output);
            }

            return 1;
        }

        if (verb == "list")
        {
            await ListAsync(folder, identity, output);
            return 0;
        }

        return await ReplayAsync(folder, store, identity, includeUnlabelled, output);
    }

    private static async Task ListAsync(UsageSpillFolder folder, UsageStoreIdentity? identity, TextWriter output)
    {
        var files = folder.List();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"usage spill folder {folder.Directory}: {files.Count} file(s), {files.Sum(f => f.Bytes)} bytes"));
        foreach (var file in files)
        {
            var label = UsageSpillFolder.ReadIdentity(file.Path);
            var events = TryCount(file.Path);
            var mark = identity is null || file.Tag is null ? "" : file.Tag == identity.Tag ? "  <- DATABASE_URL's database" : "  (another database)";
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {file.Name}  {events} events  {file.Bytes} bytes  {(label is null ? "unlabelled" : "database " + label)}{(file.Replaying ? "  [being replayed]" : "")}{mark}"));
        }
    }

    private static async Task<int> ReplayAsync(UsageSpillFolder folder, PostgresUsageStore store, UsageStoreIdentity identity, bool includeUnlabelled, TextWriter output)
    {
        var replayed = 0;
        var files = 0;
        var leftAlone = 0;
        var busy = 0;
        foreach (var file in folder.List())
        {
            var mine = file.Tag == identity.Tag || (includeUnlabelled && file.Tag is null);
            if (!mine)
            {
                leftAlone++;
                continue;
            }

            if (!UsageSpillFolder.MayAdopt(file, DateTimeOffset.UtcNow) || UsageSpillFolder.Claim(file) is not { } claimed)
            {
                busy++;
                continue;
            }

            var events = UsageSpillFolder.Read(claimed);
            try
            {
                foreach (var chunk in events.Chunk(1_000))
                {
                    await store.WriteAsync(chunk, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // The claimed file stays: the next replay (or a Service of this database) takes it over.
                await output.WriteLineAsync($"usage spill replay: writing {file.Name} failed: {ex.Message}");
                return 1;
            }

            File.Delete(claimed);
            replayed += events.Count;
            files++;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  replayed {events.Count} events from {file.Name}"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"usage spill replay: {replayed} events from {files} file(s) into {identity}; left {leftAlone} file(s) of other databases{(includeUnlabelled ? "" : " or unlabelled")} alone; {busy} in use by a running process"));
        return 0;
    }

    private static long TryCount(string path)
    {
        try
        {
            return UsageSpillFolder.Read(path).Count;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
