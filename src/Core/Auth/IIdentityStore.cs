namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Durable identity state. <see cref="PostgresIdentityStore"/> when DATABASE_URL is set, else
/// <see cref="InMemoryIdentityStore"/> (embedded: one process, lost on restart).
/// Operations that must not race across replicas (rotation, device status) are conditional updates.
/// </summary>
internal interface IIdentityStore
{
    /// <summary>"postgresql" or "embedded".</summary>
    string Kind { get; }

    /// <summary>False when the email is taken.</summary>
    Task<bool> TryCreateUserAsync(UserRecord user, CancellationToken cancellationToken);

    Task<UserRecord?> FindUserByEmailAsync(string email, CancellationToken cancellationToken);

    Task<UserRecord?> FindUserAsync(string id, CancellationToken cancellationToken);

    Task SetLoginStateAsync(string userId, int failedLogins, DateTimeOffset? lockedUntil, CancellationToken cancellationToken);

    /// <summary>Adds one failed login atomically (N concurrent failures count N); returns the new count.</summary>
    Task<int> IncrementFailedLoginsAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Locks the account until <paramref name="lockedUntil"/>, never shortening a later lock already set.</summary>
    Task ExtendLockAsync(string userId, DateTimeOffset lockedUntil, CancellationToken cancellationToken);

    Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Keys of <paramref name="userId"/>, or of everyone when null; newest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? userId, bool includeRevoked, CancellationToken cancellationToken);

    /// <summary>Revokes a key owned by <paramref name="userId"/> (any owner when null); null when no such key.</summary>
    Task<ApiKeyRecord?> RevokeApiKeyAsync(string keyId, string? userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes every still-active key created, directly or not, by <paramref name="keyId"/>; returns them.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> RevokeDescendantKeysAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Users, newest first.</summary>
    Task<IReadOnlyList<UserRecord>> ListUsersAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Applies an admin's change to a user; null when no such user.</summary>
    Task<UserRecord?> UpdateUserAsync(string userId, UserUpdate update, CancellationToken cancellationToken);

    /// <summary>Replaces the hash of a key (bootstrap key from configuration changed) and un-revokes it.</summary>
    Task ReplaceApiKeyHashAsync(string keyId, byte[] keyHash, CancellationToken cancellationToken);

    Task UpdateLastUsedAsync(IReadOnlyDictionary<string, DateTimeOffset> lastUsed, CancellationToken cancellationToken);

    /// <summary>True when an unrevoked, unexpired key with the admin scope exists.</summary>
    Task<bool> HasActiveAdminKeyAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Holds the bootstrap lock until disposed, across every replica sharing the store, so replicas
    /// that start together check for and create the first admin key one at a time.
    /// </summary>
    Task<IAsyncDisposable> LockBootstrapAsync(CancellationToken cancellationToken);

    Task CreateRefreshTokenAsync(RefreshTokenRecord token, CancellationToken cancellationToken);

    Task<RefreshTokenRecord?> FindRefreshTokenAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>Marks an active token rotated; false when it was already rotated or revoked (a reuse).</summary>
    Task<bool> TryRotateRefreshTokenAsync(string id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes every token of a family; returns how many were still active.</summary>
    Task<int> RevokeFamilyAsync(string familyId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The newest token of a family (null when none): its absolute end, scopes and whether it was ended.</summary>
    Task<RefreshTokenRecord?> FindFamilyHeadAsync(string familyId, CancellationToken cancellationToken);

    /// <summary>Revokes every active token of every family of a user (an admin ended their sessions); returns how many families.</summary>
    Task<int> RevokeUserSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    Task CreateDeviceAuthorizationAsync(DeviceAuthorizationRecord record, CancellationToken cancellationToken);

    Task<DeviceAuthorizationRecord?> FindDeviceAuthorizationAsync(byte[] deviceCodeHash, CancellationToken cancellationToken);

    Task<DeviceAuthorizationRecord?> FindPendingDeviceAuthorizationAsync(string userCode, CancellationToken cancellationToken);

    Task RecordDevicePollAsync(string id, DateTimeOffset polledAt, int intervalSeconds, CancellationToken cancellationToken);

    /// <summary>Moves a device authorization from <paramref name="from"/> to <paramref name="to"/>; false when it was not in <paramref name="from"/>.</summary>
    Task<bool> TransitionDeviceAuthorizationAsync(string id, string from, string to, string? userId, CancellationToken cancellationToken);

    /// <summary>pending → approved for <paramref name="userId"/>, recording the scopes and end the approving credential allows; false when no longer pending.</summary>
    Task<bool> ApproveDeviceAuthorizationAsync(string id, string userId, IReadOnlyList<string> scopes, DateTimeOffset sessionExpiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes device authorizations and refresh tokens that expired before <paramref name="expiredBefore"/>
    /// and audit events older than <paramref name="auditBefore"/> (null keeps them); returns rows deleted.
    /// </summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset expiredBefore, DateTimeOffset? auditBefore, CancellationToken cancellationToken);

    Task AppendAuditAsync(DateTimeOffset occurredAt, string kind, string? principalId, string subject, string detail, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuditRecord>> ListAuditAsync(int limit, string? kind, long? beforeId, CancellationToken cancellationToken);
}
