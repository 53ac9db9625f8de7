namespace MonkeyCoder.Core.Auth;

internal sealed record UserRecord(
    string Id,
    string Email,
    string DisplayName,
    string? PasswordHash,
    string Role,
    DateTimeOffset CreatedAt,
    int FailedLogins = 0,
    DateTimeOffset? LockedUntil = null,
    double? MonthlyBudgetUsd = null,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    bool Disabled = false);
