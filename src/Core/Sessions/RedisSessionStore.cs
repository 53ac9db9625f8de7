using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Sessions;

/// <summary>
/// Sessions in Redis, shared by every replica: a list of JSON turns per session (trimmed to
/// MaxTurns) and a sorted set per owner indexing sessions by last use; both expire after TtlHours.
/// </summary>
internal sealed class RedisSessionStore(IConnectionMultiplexer redis, IOptions<SessionOptions> options, TimeProvider time) : ISessionStore
{
    private readonly SessionOptions _options = options.Value;

    private static RedisKey TurnsKey(string owner, string sessionId) => $"mc:session:{owner}:{sessionId}";

    private static RedisKey IndexKey(string owner) => $"mc:sessions:{owner}";

    public async Task<IReadOnlyList<StoredTurn>> GetTurnsAsync(string owner, string sessionId, CancellationToken cancellationToken)
    {
        var values = await redis.GetDatabase().ListRangeAsync(TurnsKey(owner, sessionId));
        return values.Select(v => JsonSerializer.Deserialize((byte[])v!, SessionJsonContext.Default.StoredTurn)!).ToList();
    }

    public async Task AppendAsync(string owner, string sessionId, IReadOnlyList<StoredTurn> turns, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var ttl = TimeSpan.FromHours(_options.TtlHours);
        var key = TurnsKey(owner, sessionId);
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.ListRightPushAsync(key, turns.Select(t => (RedisValue)JsonSerializer.SerializeToUtf8Bytes(t, SessionJsonContext.Default.StoredTurn)).ToArray()),
            batch.ListTrimAsync(key, -_options.MaxTurns, -1),
            batch.KeyExpireAsync(key, ttl),
            batch.SortedSetAddAsync(IndexKey(owner), sessionId, time.GetUtcNow().ToUnixTimeMilliseconds()),
            batch.KeyExpireAsync(IndexKey(owner), ttl),
            // Index entries of expired sessions age out with the same TTL.
            batch.SortedSetRemoveRangeByScoreAsync(IndexKey(owner), double.NegativeInfinity, time.GetUtcNow().Subtract(ttl).ToUnixTimeMilliseconds()),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    public async Task<IReadOnlyList<SessionInfo>> ListAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var entries = await db.SortedSetRangeByRankWithScoresAsync(IndexKey(owner), 0, limit - 1, Order.Descending);
        var result = new List<SessionInfo>(entries.Length);
        foreach (var entry in entries)
        {
            var id = entry.Element.ToString();
            var key = TurnsKey(owner, id);
            var length = await db.ListLengthAsync(key);
            if (length == 0)
            {
                continue;
            }

            var first = await db.ListGetByIndexAsync(key, 0);
            var title = first.IsNull ? "" : Title(JsonSerializer.Deserialize((byte[])first!, SessionJsonContext.Default.StoredTurn)!);
            result.Add(new SessionInfo(id, (int)length, DateTimeOffset.FromUnixTimeMilliseconds((long)entry.Score), title));
        }

        return result;
    }

    public async Task<bool> DeleteAsync(string owner, string sessionId, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var deleted = await db.KeyDeleteAsync(TurnsKey(owner, sessionId));
        await db.SortedSetRemoveAsync(IndexKey(owner), sessionId);
        return deleted;
    }

    internal static string Title(StoredTurn turn) => turn.Content.Length <= 80 ? turn.Content : turn.Content[..77] + "...";
}
