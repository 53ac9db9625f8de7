using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Counts the live replicas sharing Redis, for <see cref="OutageBudget"/>'s shares: every 5 s each
/// replica stamps itself in one sorted set and counts the stamps of the last 15 s. While Redis is
/// unreachable the last count stays (the replicas this one knew of).
/// </summary>
internal sealed class ReplicaCensus(IConnectionMultiplexer redis, OutageBudget outage, TimeProvider time) : BackgroundService
{
    private const string Key = "mc:replicas";
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(15);
    private readonly string _id = Guid.NewGuid().ToString("N");

    public async Task CountAsync()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var db = redis.GetDatabase();
        await db.SortedSetAddAsync(Key, _id, now);
        await db.SortedSetRemoveRangeByScoreAsync(Key, double.NegativeInfinity, now - Live.TotalMilliseconds);
        await db.KeyExpireAsync(Key, Live * 2);
        outage.Replicas = (int)Math.Max(1, await db.SortedSetLengthAsync(Key));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, time);
        do
        {
            try
            {
                await CountAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Unreachable: keep the last count; the limiter logs the outage.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await redis.GetDatabase().SortedSetRemoveAsync(Key, _id);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
        }
    }
}
