namespace MonkeyCoder.Core.Auth;

/// <summary>What an admin changes on a user; null fields stay as they are (see <see cref="IIdentityStore.UpdateUserAsync"/>).</summary>
internal sealed record UserUpdate(
    string? Role = null,
    bool? Disabled = null,
    LimitChange<int>? RequestsPerMinute = null,
    LimitChange<int>? TokensPerMinute = null,
    LimitChange<double>? MonthlyBudgetUsd = null);

/// <summary>A new value for an optional limit: <c>Value</c> null clears it (back to the configured default).</summary>
internal sealed record LimitChange<T>(T? Value)
    where T : struct;
