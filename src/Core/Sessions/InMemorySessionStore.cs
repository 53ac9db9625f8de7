using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Sessions;

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
