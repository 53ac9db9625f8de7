namespace MonkeyCoder.Core.Auth;

internal static class DeviceStatus
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
    public const string Consumed = "consumed";
}

internal sealed record DeviceAuthorizationRecord(
    string Id,
    byte[] DeviceCodeHash,
    string UserCode,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    int IntervalSeconds,
    DateTimeOffset? LastPolledAt,
    string Status,
    string? UserId,
    IReadOnlyList<string>? Scopes = null,
    DateTimeOffset? SessionExpiresAt = null);
