using MonkeyCoder.EndToEnd.Tests.Infrastructure;

using StackExchange.Redis;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>A Service on real PostgreSQL (a fresh database) and Redis (its own database index).</summary>
public class StorageFixture : ServiceFixture
{
    private readonly int _redisDatabase;

    public StorageFixture()
        : this(3)
    {
    }

    protected StorageFixture(int redisDatabase)
    {
        _redisDatabase = redisDatabase;
    }

    /// <summary>A fixture whose spill folder is <paramref name="spillPath"/> (shared with other hosts).</summary>
    protected StorageFixture(int redisDatabase, string spillPath)
        : this(redisDatabase)
    {
        SpillPath = spillPath;
    }

    public string DatabaseUrl { get; private set; } = "";

    public V1.UsageService.UsageServiceClient Usage => new(Channel);

    /// <summary>A small code-generation task (40 tokens at most).</summary>
    public static V1.ExecuteRequest SmallTask(string prompt) => new() { TaskType = V1.TaskType.CodeGeneration, Prompt = prompt, MaxTokens = 40 };

    /// <summary>Polls (bounded) until GetUsage counts at least <paramref name="executions"/>; returns the last answer.</summary>
    /// <param name="since">Only executions created from then on (null: all); excludes late events of earlier tests.</param>
    public async Task<V1.GetUsageResponse> WaitForUsageAsync(long executions, TimeSpan timeout, DateTimeOffset? since = null)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        V1.GetUsageResponse usage;
        do
        {
            usage = await Usage.GetUsageAsync(new V1.GetUsageRequest
            {
                Granularity = V1.Granularity.Hour,
                StartTime = since is { } start ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start) : null,
            });
            if (usage.Totals.Executions >= executions)
            {
                return usage;
            }

            await System.Threading.Tasks.Task.Delay(100);
        }
        while (watch.Elapsed < timeout);

        return usage;
    }

    public string SpillPath { get; } = Path.Combine(Path.GetTempPath(), "mc-spill-" + Guid.NewGuid().ToString("N")[..8]);

    protected override IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["DATABASE_URL"] = DatabaseUrl,
        ["REDIS_URL"] = TestServers.RedisUrlWithDatabase(_redisDatabase),
        ["USAGE_SPILL_PATH"] = SpillPath,
        ["MonkeyCoder__Usage__BatchDelayMs"] = "50",
        ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20",
        ["SIMULATED_TOKENS_PER_SECOND"] = "2000",
    };

    public override async Task InitializeAsync()
    {
        DatabaseUrl = await TestServers.CreateDatabaseAsync();
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.RedisUrl.Replace("redis://", "", StringComparison.Ordinal) + ",allowAdmin=true"))
        {
            await redis.GetServers()[0].FlushDatabaseAsync(_redisDatabase);
        }

        await base.InitializeAsync();

        // The start-up call's usage event lands asynchronously; wait for it so tests start from a settled total.
        var usage = new V1.UsageService.UsageServiceClient(Channel);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while ((await usage.GetUsageAsync(new V1.GetUsageRequest())).Totals.Executions < 1 && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StorageCollection : ICollectionFixture<StorageFixture>
{
    public const string Name = "storage";
}
