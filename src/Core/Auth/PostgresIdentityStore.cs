using Npgsql;

namespace MonkeyCoder.Core.Auth;

/// <summary>Identity state in PostgreSQL (tables from Storage/Migrations/0001_identity.sql).</summary>
internal sealed class PostgresIdentityStore(NpgsqlDataSource dataSource) : IIdentityStore
{
    private const string UserColumns = "id, email, display_name, password_hash, role, created_at, failed_logins, locked_until, monthly_budget_usd, requests_per_minute, tokens_per_minute, disabled";
    private const string KeyColumns = "id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, revoked_at, last_used_at, requests_per_minute, tokens_per_minute, monthly_budget_usd, parent_key_id, allowed_models";
    private const string RefreshColumns = "id, family_id, user_id, token_hash, created_at, expires_at, rotated_at, revoked_at, family_expires_at, scopes";
    private const string DeviceColumns = "id, device_code_hash, user_code, created_at, expires_at, interval_seconds, last_polled_at, status, user_id, scopes, session_expires_at";

    public string Kind => "postgresql";

    public async Task<bool> TryCreateUserAsync(UserRecord user, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO users ({UserColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT DO NOTHING
            """);
        Add(command, user.Id, user.Email, user.DisplayName, user.PasswordHash, user.Role, user.CreatedAt, user.FailedLogins, user.LockedUntil, user.MonthlyBudgetUsd,
            user.RequestsPerMinute, user.TokensPerMinute, user.Disabled);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public Task<UserRecord?> FindUserByEmailAsync(string email, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {UserColumns} FROM users WHERE lower(email) = lower($1)", ReadUser, cancellationToken, email);

    public Task<UserRecord?> FindUserAsync(string id, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {UserColumns} FROM users WHERE id = $1", ReadUser, cancellationToken, id);

    public async Task SetLoginStateAsync(string userId, int failedLogins, DateTimeOffset? lockedUntil, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1");
        Add(command, userId, failedLogins, lockedUntil);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> IncrementFailedLoginsAsync(string userId, CancellationToken cancellationToken)
    {
        // One statement: concurrent failures each add one (a read-then-write would lose all but one).
        await using var command = dataSource.CreateCommand("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins");
        Add(command, userId);
        return await command.ExecuteScalarAsync(cancellationToken) is int count ? count : 0;
    }

    public async Task ExtendLockAsync(string userId, DateTimeOffset lockedUntil, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE users SET locked_until = greatest(coalesce(locked_until, $2), $2) WHERE id = $1");
        Add(command, userId, lockedUntil);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"INSERT INTO api_keys ({KeyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
        Add(command, key.Id, key.UserId, key.Name, key.Prefix, key.KeyHash, key.Scopes.ToArray(), key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.LastUsedAt,
            key.RequestsPerMinute, key.TokensPerMinute, key.MonthlyBudgetUsd, key.ParentKeyId, key.AllowedModels?.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {KeyColumns} FROM api_keys WHERE prefix = $1", ReadKey, cancellationToken, prefix);

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? userId, bool includeRevoked, CancellationToken cancellationToken) =>
        QueryAsync($"""
            SELECT {KeyColumns} FROM api_keys
            WHERE ($1::text IS NULL OR user_id = $1) AND ($2 OR revoked_at IS NULL)
            ORDER BY created_at DESC, id DESC
            """, ReadKey, cancellationToken, userId, includeRevoked);

    public Task<ApiKeyRecord?> RevokeApiKeyAsync(string keyId, string? userId, DateTimeOffset now, CancellationToken cancellationToken) =>
        QuerySingleAsync($"""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)
            WHERE id = $1 AND ($2::text IS NULL OR user_id = $2)
            RETURNING {KeyColumns}
            """, ReadKey, cancellationToken, keyId, userId, now);

    public Task<IReadOnlyList<ApiKeyRecord>> RevokeDescendantKeysAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        QueryAsync($"""
            WITH RECURSIVE below AS (
                SELECT id FROM api_keys WHERE parent_key_id = $1
                UNION
                SELECT k.id FROM api_keys k JOIN below b ON k.parent_key_id = b.id
            )
            UPDATE api_keys SET revoked_at = $2
            WHERE id IN (SELECT id FROM below) AND revoked_at IS NULL
            RETURNING {KeyColumns}
            """, ReadKey, cancellationToken, keyId, now);

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(int limit, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {UserColumns} FROM users ORDER BY created_at DESC, id DESC LIMIT $1", ReadUser, cancellationToken, limit);

    public Task<UserRecord?> UpdateUserAsync(string userId, UserUpdate update, CancellationToken cancellationToken) =>
        QuerySingleAsync($"""
            UPDATE users SET
                role = coalesce($2::text, role),
                disabled = coalesce($3::boolean, disabled),
                requests_per_minute = CASE WHEN $4 THEN $5::integer ELSE requests_per_minute END,
                tokens_per_minute = CASE WHEN $6 THEN $7::integer ELSE tokens_per_minute END,
                monthly_budget_usd = CASE WHEN $8 THEN $9::double precision ELSE monthly_budget_usd END
            WHERE id = $1
            RETURNING {UserColumns}
            """, ReadUser, cancellationToken, userId, update.Role, update.Disabled,
            update.RequestsPerMinute is not null, update.RequestsPerMinute?.Value,
            update.TokensPerMinute is not null, update.TokensPerMinute?.Value,
            update.MonthlyBudgetUsd is not null, update.MonthlyBudgetUsd?.Value);

    public async Task ReplaceApiKeyHashAsync(string keyId, byte[] keyHash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE api_keys SET key_hash = $2, revoked_at = NULL WHERE id = $1");
        Add(command, keyId, keyHash);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task UpdateLastUsedAsync(IReadOnlyDictionary<string, DateTimeOffset> lastUsed, CancellationToken cancellationToken)
    {
        if (lastUsed.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand("""
            UPDATE api_keys AS k SET last_used_at = u.at
            FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
            WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
            """);
        Add(command, lastUsed.Keys.ToArray(), lastUsed.Values.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> HasActiveAdminKeyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) AND 'admin' = ANY (scopes))
            """);
        Add(command, now);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Advisory lock key for the bootstrap admin check-and-create ("mkbootad" as a number).</summary>
    public const long BootstrapLockKey = 0x6D6B_626F_6F74_6164;

    public async Task<IAsyncDisposable> LockBootstrapAsync(CancellationToken cancellationToken)
    {
        // A session lock on a connection of its own (as the migrator holds its lock), released by
        // pg_advisory_unlock on dispose, or by PostgreSQL if this process dies holding it.
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({BootstrapLockKey})", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new AdvisoryLock(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class AdvisoryLock(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using (connection)
            {
                await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({BootstrapLockKey})", connection);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    public async Task CreateRefreshTokenAsync(RefreshTokenRecord token, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"INSERT INTO refresh_tokens ({RefreshColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[])");
        Add(command, token.Id, token.FamilyId, token.UserId, token.TokenHash, token.CreatedAt, token.ExpiresAt, token.RotatedAt, token.RevokedAt,
            token.FamilyExpiresAt, token.Scopes?.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<RefreshTokenRecord?> FindRefreshTokenAsync(byte[] tokenHash, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {RefreshColumns} FROM refresh_tokens WHERE token_hash = $1", ReadRefresh, cancellationToken, tokenHash);

    public async Task<bool> TryRotateRefreshTokenAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Conditional update: of two concurrent refreshes with one token, exactly one wins.
        await using var command = dataSource.CreateCommand("UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL");
        Add(command, id, now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> RevokeFamilyAsync(string familyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL");
        Add(command, familyId, now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<RefreshTokenRecord?> FindFamilyHeadAsync(string familyId, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {RefreshColumns} FROM refresh_tokens WHERE family_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1", ReadRefresh, cancellationToken, familyId);

    public async Task<int> RevokeUserSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH ended AS (UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING family_id)
            SELECT count(DISTINCT family_id)::int FROM ended
            """);
        Add(command, userId, now);
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task CreateDeviceAuthorizationAsync(DeviceAuthorizationRecord record, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"INSERT INTO device_authorizations ({DeviceColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11)");
        Add(command, record.Id, record.DeviceCodeHash, record.UserCode, record.CreatedAt, record.ExpiresAt, record.IntervalSeconds, record.LastPolledAt, record.Status, record.UserId,
            record.Scopes?.ToArray(), record.SessionExpiresAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<DeviceAuthorizationRecord?> FindDeviceAuthorizationAsync(byte[] deviceCodeHash, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {DeviceColumns} FROM device_authorizations WHERE device_code_hash = $1", ReadDevice, cancellationToken, deviceCodeHash);

    public Task<DeviceAuthorizationRecord?> FindPendingDeviceAuthorizationAsync(string userCode, CancellationToken cancellationToken) =>
        QuerySingleAsync($"SELECT {DeviceColumns} FROM device_authorizations WHERE user_code = $1 AND status = 'pending'", ReadDevice, cancellationToken, userCode);

    public async Task RecordDevicePollAsync(string id, DateTimeOffset polledAt, int intervalSeconds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE device_authorizations SET last_polled_at = $2, interval_seconds = $3 WHERE id = $1");
        Add(command, id, polledAt, intervalSeconds);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> TransitionDeviceAuthorizationAsync(string id, string from, string to, string? userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE device_authorizations SET status = $3, user_id = coalesce($4, user_id) WHERE id = $1 AND status = $2");
        Add(command, id, from, to, userId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> ApproveDeviceAuthorizationAsync(string id, string userId, IReadOnlyList<string> scopes, DateTimeOffset sessionExpiresAt, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE device_authorizations SET status = 'approved', user_id = $2, scopes = $3, session_expires_at = $4
            WHERE id = $1 AND status = 'pending'
            """);
        Add(command, id, userId, scopes.ToArray(), sessionExpiresAt);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset expiredBefore, DateTimeOffset? auditBefore, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH d AS (DELETE FROM device_authorizations WHERE expires_at < $1 RETURNING 1),
                 r AS (DELETE FROM refresh_tokens WHERE expires_at < $1 RETURNING 1),
                 a AS (DELETE FROM audit_events WHERE $2::timestamptz IS NOT NULL AND occurred_at < $2 RETURNING 1)
            SELECT ((SELECT count(*) FROM d) + (SELECT count(*) FROM r) + (SELECT count(*) FROM a))::int
            """);
        Add(command, expiredBefore, auditBefore);
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task AppendAuditAsync(DateTimeOffset occurredAt, string kind, string? principalId, string subject, string detail, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("INSERT INTO audit_events (occurred_at, kind, principal_id, subject, detail) VALUES ($1, $2, $3, $4, $5)");
        Add(command, occurredAt, kind, principalId, subject, detail);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(int limit, string? kind, long? beforeId, CancellationToken cancellationToken) =>
        QueryAsync("""
            SELECT id, occurred_at, kind, principal_id, subject, detail FROM audit_events
            WHERE ($1::text IS NULL OR kind = $1) AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3
            """,
            r => new AuditRecord(r.GetInt64(0), r.GetFieldValue<DateTimeOffset>(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4), r.GetString(5)),
            cancellationToken, kind, beforeId, limit);

    private static UserRecord ReadUser(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
        r.GetFieldValue<DateTimeOffset>(5), r.GetInt32(6), NullableTime(r, 7), r.IsDBNull(8) ? null : r.GetDouble(8),
        r.IsDBNull(9) ? null : r.GetInt32(9), r.IsDBNull(10) ? null : r.GetInt32(10), r.GetBoolean(11));

    private static ApiKeyRecord ReadKey(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetFieldValue<byte[]>(4), r.GetFieldValue<string[]>(5),
        r.GetFieldValue<DateTimeOffset>(6), NullableTime(r, 7), NullableTime(r, 8), NullableTime(r, 9),
        r.IsDBNull(10) ? null : r.GetInt32(10), r.IsDBNull(11) ? null : r.GetInt32(11), r.IsDBNull(12) ? null : r.GetDouble(12),
        r.IsDBNull(13) ? null : r.GetString(13), r.IsDBNull(14) ? null : r.GetFieldValue<string[]>(14));

    private static RefreshTokenRecord ReadRefresh(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetFieldValue<byte[]>(3), r.GetFieldValue<DateTimeOffset>(4),
        r.GetFieldValue<DateTimeOffset>(5), NullableTime(r, 6), NullableTime(r, 7), NullableTime(r, 8), r.IsDBNull(9) ? null : r.GetFieldValue<string[]>(9));

    private static DeviceAuthorizationRecord ReadDevice(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetFieldValue<byte[]>(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3), r.GetFieldValue<DateTimeOffset>(4),
        r.GetInt32(5), NullableTime(r, 6), r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8),
        r.IsDBNull(9) ? null : r.GetFieldValue<string[]>(9), NullableTime(r, 10));

    private static DateTimeOffset? NullableTime(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetFieldValue<DateTimeOffset>(ordinal);

    private async Task<T?> QuerySingleAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
        where T : class
    {
        await using var command = dataSource.CreateCommand(sql);
        Add(command, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        Add(command, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(read(reader));
        }

        return list;
    }

    /// <summary>Positional parameters; nulls are sent as DBNull (their type comes from the SQL cast or column).</summary>
    private static void Add(NpgsqlCommand command, params object?[] values)
    {
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value switch
            {
                null => DBNull.Value,
                DateTimeOffset time => time.ToUniversalTime(),
                _ => value,
            } });
        }
    }
}
