namespace MonkeyCoder.Core.Auth;

internal sealed record ApiKeyRecord(
    string Id,
    string UserId,
    string Name,
    string Prefix,
    byte[] KeyHash,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt = null,
    DateTimeOffset? RevokedAt = null,
    DateTimeOffset? LastUsedAt = null,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    double? MonthlyBudgetUsd = null,
    string? ParentKeyId = null,
    IReadOnlyList<string>? AllowedModels = null);
