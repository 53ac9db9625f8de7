using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Opt-in persistence of the in-process statistics (<see cref="RoutingOptions.SnapshotPath"/>,
/// <c>ROUTER_STATS_SNAPSHOT_PATH</c>): loaded once at start, written every
/// <see cref="RoutingOptions.SnapshotIntervalSeconds"/> and at shutdown (write to a temporary file,
/// then rename, so a crash never leaves half a file). Each entry keeps its own update time, so time
/// decay continues across the restart. Registered only without Redis and with a path.
/// </summary>
internal sealed partial class RouterStatsSnapshot(
    InMemoryRouterStatsStore store,
    IOptions<RoutingOptions> options,
    ILogger<RouterStatsSnapshot> logger) : BackgroundService
{
    private readonly RoutingOptions _options = options.Value;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Load();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Save();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.SnapshotIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Save();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads the snapshot into the store; a missing file is a first start, an unreadable one is logged and skipped.</summary>
    public void Load()
    {
        var path = _options.SnapshotPath;
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
        {
            return;
        }

        try
        {
            using var file = File.OpenRead(path);
            var saved = JsonSerializer.Deserialize(file, RouterStatsJsonContext.Default.DictionaryStringModelStats) ?? [];
            store.Import(saved);
            Log.Loaded(logger, saved.Count, path);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            Log.Failed(logger, "read", path, ex.GetType().Name);
        }
    }

    /// <summary>Writes the store to the snapshot file.</summary>
    public void Save()
    {
        var path = _options.SnapshotPath;
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }

        var temporary = path + ".tmp";
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            using (var file = File.Create(temporary))
            {
                JsonSerializer.Serialize(file, new Dictionary<string, ModelStats>(store.Export(), StringComparer.OrdinalIgnoreCase), RouterStatsJsonContext.Default.DictionaryStringModelStats);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.Failed(logger, "write", path, ex.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.RouterStatsSnapshotLoaded, Level = LogLevel.Information,
            Message = "Router statistics: {Count} entries loaded from the snapshot {Path}")]
        public static partial void Loaded(ILogger logger, int count, string path);

        [LoggerMessage(EventId = Observability.EventIds.RouterStatsSnapshotFailed, Level = LogLevel.Warning,
            Message = "Router statistics snapshot: could not {Operation} {Path} ({ErrorType}); learning continues in memory")]
        public static partial void Failed(ILogger logger, string operation, string path, string errorType);
    }
}

[JsonSerializable(typeof(Dictionary<string, ModelStats>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class RouterStatsJsonContext : JsonSerializerContext;
