using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>Usage accounting. Section <c>MonkeyCoder:Usage</c>.</summary>
public sealed class UsageOptions
{
    public const string Section = "MonkeyCoder:Usage";

    /// <summary>Events held in memory before spilling to disk. Defaults to 50,000 (≈ 50 MB).</summary>
    [Range(100, 10_000_000, ErrorMessage = "MonkeyCoder:Usage:QueueCapacity must be between 100 and 10000000.")]
    public int QueueCapacity { get; set; } = 50_000;

    /// <summary>Most events per PostgreSQL write. Defaults to 1,000.</summary>
    [Range(1, 100_000, ErrorMessage = "MonkeyCoder:Usage:BatchSize must be between 1 and 100000.")]
    public int BatchSize { get; set; } = 1_000;

    /// <summary>Longest wait to fill a batch, in ms. Defaults to 200 ms.</summary>
    [Range(1, 60_000, ErrorMessage = "MonkeyCoder:Usage:BatchDelayMs must be between 1 and 60000.")]
    public int BatchDelayMs { get; set; } = 200;

    /// <summary><c>USAGE_SPILL_PATH</c>: folder for events that wait out a database outage. Defaults to $TMPDIR/monkey-coder-usage-spill-$USER. Files are labelled with their database, so processes of different databases may share it.</summary>
    public string? SpillPath { get; set; }

    /// <summary><c>USAGE_RETENTION_DAYS</c>: events older than this are purged. Defaults to 90 days; 0 keeps everything.</summary>
    [Range(0, 36_500, ErrorMessage = "USAGE_RETENTION_DAYS (MonkeyCoder:Usage:RetentionDays) must be between 0 and 36500.")]
    public int RetentionDays { get; set; } = 90;

    /// <summary>How often the purge runs, in minutes. Defaults to 60.</summary>
    [Range(1, 10_080, ErrorMessage = "MonkeyCoder:Usage:PurgeIntervalMinutes must be between 1 and 10080.")]
    public int PurgeIntervalMinutes { get; set; } = 60;

    /// <summary><c>USAGE_STALE_READ_SECONDS</c>: while PostgreSQL is unreachable, GetUsage answers a caller with their own last answer to the same request shape if it is at most this old, marked <c>stale</c> with its <c>as_of</c>. Defaults to 600 s; 0 turns stale reads off (UNAVAILABLE, as for callers with no such answer).</summary>
    [Range(0, 86_400, ErrorMessage = "USAGE_STALE_READ_SECONDS (MonkeyCoder:Usage:StaleReadSeconds) must be between 0 and 86400.")]
    public int StaleReadSeconds { get; set; } = 600;

    /// <summary>Memory for the last GetUsage answers kept for stale reads, in MB (the serialized answers plus their keys); the oldest answers go first when full. Defaults to 16 MB.</summary>
    [Range(1, 4_096, ErrorMessage = "MonkeyCoder:Usage:StaleReadCacheMb must be between 1 and 4096.")]
    public int StaleReadCacheMb { get; set; } = 16;

    public string ResolvedSpillPath => string.IsNullOrWhiteSpace(SpillPath)
        ? UsageSpillFolder.DefaultPath()
        : SpillPath;
}

[OptionsValidator]
internal sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
