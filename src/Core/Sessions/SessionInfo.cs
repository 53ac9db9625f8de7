namespace MonkeyCoder.Core.Sessions;

/// <summary>A session as listed: id, size, last use and a title from its first user turn.</summary>
internal sealed record SessionInfo(string SessionId, int TurnCount, DateTimeOffset UpdatedAt, string Title);
