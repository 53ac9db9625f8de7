namespace MonkeyCoder.Core.Auth;

/// <summary>Embedded identity store: one process, nothing survives a restart. Thread-safe through one lock (identity writes are rare).</summary>
internal sealed class InMemoryIdentityStore : IIdentityStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, UserRecord> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ApiKeyRecord> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefreshTokenRecord> _refresh = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceAuthorizationRecord> _devices = new(StringComparer.Ordinal);
    private readonly List<AuditRecord> _audit = [];
    private long _auditSequence;

    public string Kind => "embedded";

    public Task<bool> TryCreateUserAsync(UserRecord user, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_users.Values.Any(u => string.Equals(u.Email, user.Email, StringComparison.OrdinalIgnoreCase)))
            {
                return Task.FromResult(false);
            }

            _users[user.Id] = user;
            return Task.FromResult(true);
        }
    }

    public Task<UserRecord?> FindUserByEmailAsync(string email, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_users.Values.FirstOrDefault(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)));
        }
    }

    public Task<UserRecord?> FindUserAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_users.GetValueOrDefault(id));
        }
    }

    public Task SetLoginStateAsync(string userId, int failedLogins, DateTimeOffset? lockedUntil, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_users.TryGetValue(userId, out var user))
            {
                _users[userId] = user with { FailedLogins = failedLogins, LockedUntil = lockedUntil };
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> IncrementFailedLoginsAsync(string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var user))
            {
                return Task.FromResult(0);
            }

            _users[userId] = user with { FailedLogins = user.FailedLogins + 1 };
            return Task.FromResult(user.FailedLogins + 1);
        }
    }

    public Task ExtendLockAsync(string userId, DateTimeOffset lockedUntil, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_users.TryGetValue(userId, out var user) && (user.LockedUntil is null || user.LockedUntil < lockedUntil))
            {
                _users[userId] = user with { LockedUntil = lockedUntil };
            }
        }

        return Task.CompletedTask;
    }

    public Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_keys.Values.Any(k => k.Prefix == key.Prefix))
            {
                throw new InvalidOperationException("API key prefix collision.");
            }

            _keys[key.Id] = key;
        }

        return Task.CompletedTask;
    }

    public Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_keys.Values.FirstOrDefault(k => k.Prefix == prefix));
        }
    }

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? userId, bool includeRevoked, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<ApiKeyRecord> keys = _keys.Values
                .Where(k => (userId is null || k.UserId == userId) && (includeRevoked || k.RevokedAt is null))
                .OrderByDescending(k => k.CreatedAt).ThenByDescending(k => k.Id, StringComparer.Ordinal)
                .ToList();
            return Task.FromResult(keys);
        }
    }

    public Task<ApiKeyRecord?> RevokeApiKeyAsync(string keyId, string? userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_keys.TryGetValue(keyId, out var key) || (userId is not null && key.UserId != userId))
            {
                return Task.FromResult<ApiKeyRecord?>(null);
            }

            key = key with { RevokedAt = key.RevokedAt ?? now };
            _keys[keyId] = key;
            return Task.FromResult<ApiKeyRecord?>(key);
        }
    }

    public Task<IReadOnlyList<ApiKeyRecord>> RevokeDescendantKeysAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var revoked = new List<ApiKeyRecord>();
            var parents = new Queue<string>([keyId]);
            var seen = new HashSet<string>(StringComparer.Ordinal) { keyId };
            while (parents.TryDequeue(out var parent))
            {
                foreach (var child in _keys.Values.Where(k => k.ParentKeyId == parent).ToList())
                {
                    if (!seen.Add(child.Id))
                    {
                        continue;
                    }

                    parents.Enqueue(child.Id);
                    if (child.RevokedAt is null)
                    {
                        var updated = child with { RevokedAt = now };
                        _keys[child.Id] = updated;
                        revoked.Add(updated);
                    }
                }
            }

            return Task.FromResult<IReadOnlyList<ApiKeyRecord>>(revoked);
        }
    }

    public Task<IReadOnlyList<UserRecord>> ListUsersAsync(int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<UserRecord> users = _users.Values.OrderByDescending(u => u.CreatedAt).ThenByDescending(u => u.Id, StringComparer.Ordinal).Take(limit).ToList();
            return Task.FromResult(users);
        }
    }

    public Task<UserRecord?> UpdateUserAsync(string userId, UserUpdate update, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var user))
            {
                return Task.FromResult<UserRecord?>(null);
            }

            user = user with
            {
                Role = update.Role ?? user.Role,
                Disabled = update.Disabled ?? user.Disabled,
                RequestsPerMinute = update.RequestsPerMinute is { } rpm ? rpm.Value : user.RequestsPerMinute,
                TokensPerMinute = update.TokensPerMinute is { } tpm ? tpm.Value : user.TokensPerMinute,
                MonthlyBudgetUsd = update.MonthlyBudgetUsd is { } budget ? budget.Value : user.MonthlyBudgetUsd,
            };
            _users[userId] = user;
            return Task.FromResult<UserRecord?>(user);
        }
    }

    public Task ReplaceApiKeyHashAsync(string keyId, byte[] keyHash, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_keys.TryGetValue(keyId, out var key))
            {
                _keys[keyId] = key with { KeyHash = keyHash, RevokedAt = null };
            }
        }

        return Task.CompletedTask;
    }

    public Task UpdateLastUsedAsync(IReadOnlyDictionary<string, DateTimeOffset> lastUsed, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var (id, at) in lastUsed)
            {
                if (_keys.TryGetValue(id, out var key) && (key.LastUsedAt is null || key.LastUsedAt < at))
                {
                    _keys[id] = key with { LastUsedAt = at };
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> HasActiveAdminKeyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_keys.Values.Any(k => k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > now) && k.Scopes.Contains(Scopes.Admin)));
        }
    }

    private readonly SemaphoreSlim _bootstrap = new(1, 1);

    public async Task<IAsyncDisposable> LockBootstrapAsync(CancellationToken cancellationToken)
    {
        await _bootstrap.WaitAsync(cancellationToken);
        return new Release(_bootstrap);
    }

    private sealed class Release(SemaphoreSlim semaphore) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }

            return ValueTask.CompletedTask;
        }
    }

    public Task CreateRefreshTokenAsync(RefreshTokenRecord token, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _refresh[token.Id] = token;
        }

        return Task.CompletedTask;
    }

    public Task<RefreshTokenRecord?> FindRefreshTokenAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_refresh.Values.FirstOrDefault(t => t.TokenHash.AsSpan().SequenceEqual(tokenHash)));
        }
    }

    public Task<bool> TryRotateRefreshTokenAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_refresh.TryGetValue(id, out var token) || token.RotatedAt is not null || token.RevokedAt is not null)
            {
                return Task.FromResult(false);
            }

            _refresh[id] = token with { RotatedAt = now };
            return Task.FromResult(true);
        }
    }

    public Task<int> RevokeFamilyAsync(string familyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var count = 0;
            foreach (var token in _refresh.Values.Where(t => t.FamilyId == familyId && t.RevokedAt is null).ToList())
            {
                _refresh[token.Id] = token with { RevokedAt = now };
                count++;
            }

            return Task.FromResult(count);
        }
    }

    public Task<RefreshTokenRecord?> FindFamilyHeadAsync(string familyId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_refresh.Values.Where(t => t.FamilyId == familyId)
                .OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id, StringComparer.Ordinal).FirstOrDefault());
        }
    }

    public Task<int> RevokeUserSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var families = new HashSet<string>(StringComparer.Ordinal);
            foreach (var token in _refresh.Values.Where(t => t.UserId == userId && t.RevokedAt is null).ToList())
            {
                _refresh[token.Id] = token with { RevokedAt = now };
                families.Add(token.FamilyId);
            }

            return Task.FromResult(families.Count);
        }
    }

    public Task CreateDeviceAuthorizationAsync(DeviceAuthorizationRecord record, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_devices.Values.Any(d => d.Status == DeviceStatus.Pending && d.UserCode == record.UserCode))
            {
                throw new InvalidOperationException("User code collision.");
            }

            _devices[record.Id] = record;
        }

        return Task.CompletedTask;
    }

    public Task<DeviceAuthorizationRecord?> FindDeviceAuthorizationAsync(byte[] deviceCodeHash, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_devices.Values.FirstOrDefault(d => d.DeviceCodeHash.AsSpan().SequenceEqual(deviceCodeHash)));
        }
    }

    public Task<DeviceAuthorizationRecord?> FindPendingDeviceAuthorizationAsync(string userCode, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_devices.Values.FirstOrDefault(d => d.Status == DeviceStatus.Pending && d.UserCode == userCode));
        }
    }

    public Task RecordDevicePollAsync(string id, DateTimeOffset polledAt, int intervalSeconds, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_devices.TryGetValue(id, out var device))
            {
                _devices[id] = device with { LastPolledAt = polledAt, IntervalSeconds = intervalSeconds };
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> TransitionDeviceAuthorizationAsync(string id, string from, string to, string? userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_devices.TryGetValue(id, out var device) || device.Status != from)
            {
                return Task.FromResult(false);
            }

            _devices[id] = device with { Status = to, UserId = userId ?? device.UserId };
            return Task.FromResult(true);
        }
    }

    public Task<bool> ApproveDeviceAuthorizationAsync(string id, string userId, IReadOnlyList<string> scopes, DateTimeOffset sessionExpiresAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_devices.TryGetValue(id, out var device) || device.Status != DeviceStatus.Pending)
            {
                return Task.FromResult(false);
            }

            _devices[id] = device with { Status = DeviceStatus.Approved, UserId = userId, Scopes = scopes.ToList(), SessionExpiresAt = sessionExpiresAt };
            return Task.FromResult(true);
        }
    }

    public Task<int> PurgeExpiredAsync(DateTimeOffset expiredBefore, DateTimeOffset? auditBefore, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var removed = 0;
            foreach (var device in _devices.Values.Where(d => d.ExpiresAt < expiredBefore).ToList())
            {
                removed += _devices.Remove(device.Id) ? 1 : 0;
            }

            foreach (var token in _refresh.Values.Where(t => t.ExpiresAt < expiredBefore).ToList())
            {
                removed += _refresh.Remove(token.Id) ? 1 : 0;
            }

            if (auditBefore is { } before)
            {
                removed += _audit.RemoveAll(a => a.OccurredAt < before);
            }

            return Task.FromResult(removed);
        }
    }

    public Task AppendAuditAsync(DateTimeOffset occurredAt, string kind, string? principalId, string subject, string detail, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _audit.Add(new AuditRecord(++_auditSequence, occurredAt, kind, principalId, subject, detail));
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(int limit, string? kind, long? beforeId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<AuditRecord> events = _audit
                .Where(a => (kind is null || a.Kind == kind) && (beforeId is null || a.Id < beforeId))
                .OrderByDescending(a => a.Id)
                .Take(limit)
                .ToList();
            return Task.FromResult(events);
        }
    }
}
