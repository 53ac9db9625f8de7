using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Sessions;

/// <summary>One stored turn of a conversation.</summary>
internal sealed record StoredTurn(string Role, string Content, DateTimeOffset At, string Model = "");

/// <summary>A session as listed: id, size, last use and a title from its first user turn.</summary>
internal sealed record SessionInfo(string SessionId, int TurnCount, DateTimeOffset UpdatedAt, string Title);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StoredTurn))]
[JsonSerializable(typeof(List<StoredTurn>))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;

/// <summary>Sessions. Section <c>MonkeyCoder:Sessions</c>.</summary>
public sealed class SessionOptions
{
    public const string Section = "MonkeyCoder:Sessions";

    /// <summary><c>SESSION_TTL_HOURS</c>: a session expires this long after its last turn. Defaults to 168 h (7 days).</summary>
    [Range(1, 24 * 365, ErrorMessage = "SESSION_TTL_HOURS (MonkeyCoder:Sessions:TtlHours) must be between 1 and 8760.")]
    public int TtlHours { get; set; } = 168;

    /// <summary>Turns kept per session (oldest dropped first). Defaults to 200.</summary>
    [Range(2, 10_000, ErrorMessage = "MonkeyCoder:Sessions:MaxTurns must be between 2 and 10000.")]
    public int MaxTurns { get; set; } = 200;
}

[OptionsValidator]
internal sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;

/// <summary>Conversation turns by (owner, session id). Owners never see each other's sessions.</summary>
internal interface ISessionStore
{
    Task<IReadOnlyList<StoredTurn>> GetTurnsAsync(string owner, string sessionId, CancellationToken cancellationToken);

    Task AppendAsync(string owner, string sessionId, IReadOnlyList<StoredTurn> turns, CancellationToken cancellationToken);

    Task<IReadOnlyList<SessionInfo>> ListAsync(string owner, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string owner, string sessionId, CancellationToken cancellationToken);
}

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

/// <summary>Sessions in process memory for the embedded defaults (one replica; lost on restart).</summary>
internal sealed class InMemorySessionStore(IOptions<SessionOptions> options, TimeProvider time) : ISessionStore
{
    private readonly ConcurrentDictionary<(string Owner, string Id), Session> _sessions = new();

    private sealed class Session
    {
        public List<StoredTurn> Turns { get; } = [];

        public DateTimeOffset UpdatedAt { get; set; }
    }

    private bool Expired(Session s) => time.GetUtcNow() - s.UpdatedAt > TimeSpan.FromHours(options.Value.TtlHours);

    public Task<IReadOnlyList<StoredTurn>> GetTurnsAsync(string owner, string sessionId, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue((owner, sessionId), out var s) && !Expired(s))
        {
            lock (s)
            {
                return Task.FromResult<IReadOnlyList<StoredTurn>>(s.Turns.ToList());
            }
        }

        return Task.FromResult<IReadOnlyList<StoredTurn>>([]);
    }

    public Task AppendAsync(string owner, string sessionId, IReadOnlyList<StoredTurn> turns, CancellationToken cancellationToken)
    {
        var s = _sessions.GetOrAdd((owner, sessionId), _ => new Session());
        lock (s)
        {
            if (Expired(s))
            {
                s.Turns.Clear();
            }

            s.Turns.AddRange(turns);
            if (s.Turns.Count > options.Value.MaxTurns)
            {
                s.Turns.RemoveRange(0, s.Turns.Count - options.Value.MaxTurns);
            }

            s.UpdatedAt = time.GetUtcNow();
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SessionInfo>> ListAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        var list = _sessions.Where(kv => kv.Key.Owner == owner && !Expired(kv.Value) && kv.Value.Turns.Count > 0)
            .Select(kv =>
            {
                lock (kv.Value)
                {
                    return new SessionInfo(kv.Key.Id, kv.Value.Turns.Count, kv.Value.UpdatedAt, RedisSessionStore.Title(kv.Value.Turns[0]));
                }
            })
            .OrderByDescending(s => s.UpdatedAt)
            .Take(limit)
            .ToList();
        return Task.FromResult<IReadOnlyList<SessionInfo>>(list);
    }

    public Task<bool> DeleteAsync(string owner, string sessionId, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryRemove((owner, sessionId), out _));
}
