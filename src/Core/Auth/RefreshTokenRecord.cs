namespace MonkeyCoder.Core.Auth;

internal sealed record RefreshTokenRecord(
    string Id,
    string FamilyId,
    string UserId,
    byte[] TokenHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RotatedAt = null,
    DateTimeOffset? RevokedAt = null,
    DateTimeOffset? FamilyExpiresAt = null,
    IReadOnlyList<string>? Scopes = null);
