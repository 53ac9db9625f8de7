using StackExchange.Redis;

namespace MonkeyCoder.Tests.Infrastructure;

/// <summary>
/// Two connections ("replicas") to the real Redis of MONKEY_TEST_REDIS_URL (scripts/services.sh),
/// created once for the test assembly. Under CI=true a missing variable fails the tests; on a
/// developer machine without it they return early (and say so in the output).
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public IConnectionMultiplexer? ReplicaA { get; private set; }

    public IConnectionMultiplexer? ReplicaB { get; private set; }

    public bool Available => ReplicaA is not null;

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("MONKEY_TEST_REDIS_URL");
        if (string.IsNullOrEmpty(url))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("MONKEY_TEST_REDIS_URL is not set; run the tests through scripts/test.sh (or source scripts/services.sh start).");
            }

            return;
        }

        ReplicaA = await ConnectionMultiplexer.ConnectAsync(ToConfiguration(url));
        ReplicaB = await ConnectionMultiplexer.ConnectAsync(ToConfiguration(url));
    }

    public async Task DisposeAsync()
    {
        if (ReplicaA is not null)
        {
            await ReplicaA.DisposeAsync();
        }

        if (ReplicaB is not null)
        {
            await ReplicaB.DisposeAsync();
        }
    }

    /// <summary>redis://[user:password@]host:port[/db] → StackExchange.Redis configuration.</summary>
    public static ConfigurationOptions ToConfiguration(string url)
    {
        var uri = new Uri(url);
        var options = new ConfigurationOptions { AbortOnConnectFail = true, ConnectTimeout = 5000 };
        options.EndPoints.Add(uri.Host, uri.Port > 0 ? uri.Port : 6379);
        if (uri.UserInfo.Length > 0)
        {
            var parts = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            options.Password = parts.Length == 2 ? parts[1] : parts[0];
        }

        return options;
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
