namespace MonkeyCoder.Core.Sessions;

/// <summary>Conversation turns by (owner, session id). Owners never see each other's sessions.</summary>
internal interface ISessionStore
{
    Task<IReadOnlyList<StoredTurn>> GetTurnsAsync(string owner, string sessionId, CancellationToken cancellationToken);

    Task AppendAsync(string owner, string sessionId, IReadOnlyList<StoredTurn> turns, CancellationToken cancellationToken);

    Task<IReadOnlyList<SessionInfo>> ListAsync(string owner, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string owner, string sessionId, CancellationToken cancellationToken);
}
