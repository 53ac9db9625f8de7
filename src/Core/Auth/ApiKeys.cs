using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Core.Auth;

/// <summary>A key as the caller sees it right after creation: the only time the secret exists outside the caller.</summary>
internal sealed record CreatedApiKey(ApiKeyRecord Key, string Secret);

/// <summary>Limits asked for when creating a key; null fields fall back to the configured defaults.</summary>
internal sealed record ApiKeyLimits(int? RequestsPerMinute, int? TokensPerMinute, double? MonthlyBudgetUsd, IReadOnlyList<string>? AllowedModels = null);

/// <summary>
/// API keys: creation (stored as SHA-256 + public prefix), listing, revocation and authentication.
/// A validated key is trusted for <see cref="AuthOptions.ApiKeyCacheSeconds"/> so the hot path does
/// not hit the database on every call; revocation clears this replica's cache at once.
/// </summary>
internal sealed partial class ApiKeys(IIdentityStore store, AuditTrail audit, LastUsedTracker lastUsed, IOptions<AuthOptions> options, TimeProvider time,
    IOptions<Limits.LimitOptions> limitDefaults, ILogger<ApiKeys>? logger = null, Providers.ModelCatalog? catalog = null)
{
    /// <summary>Highest monthly budget a key or user may have, in USD (1e9), as for MONTHLY_BUDGET_USD.</summary>
    public const double MaxBudgetUsd = 1e9;

    private static readonly ILogger NullLogger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private readonly ConcurrentDictionary<string, (ApiKeyRecord Key, UserRecord User, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private int _storeDown;
    private long _retryStoreAtTicks;

    /// <summary>While the store is down, how often a call may try it again (the others use validated keys). 1 s.</summary>
    private static readonly TimeSpan StoreRetryInterval = TimeSpan.FromSeconds(1);

    public async Task<CreatedApiKey> CreateAsync(Principal owner, string name, IReadOnlyList<string> scopes, TimeSpan? expiresIn, ApiKeyLimits limits, CancellationToken cancellationToken)
    {
        var violations = new List<Google.Rpc.BadRequest.Types.FieldViolation>();
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            violations.Add(new() { Field = "name", Description = "Required, at most 100 characters." });
        }

        foreach (var scope in scopes.Where(s => !Scopes.IsKnown(s)))
        {
            violations.Add(new() { Field = "scopes", Description = $"Unknown scope '{scope}'. Known: {string.Join(", ", Scopes.All)}." });
        }

        if (expiresIn is { } e && (e <= TimeSpan.Zero || e > TimeSpan.FromDays(3650)))
        {
            violations.Add(new() { Field = "expires_in", Description = "Must be positive and at most 10 years." });
        }

        if (limits.RequestsPerMinute is < 1 or > 1_000_000)
        {
            violations.Add(new() { Field = "requests_per_minute", Description = "Must be 1 to 1,000,000." });
        }

        if (limits.TokensPerMinute is < 1)
        {
            violations.Add(new() { Field = "tokens_per_minute", Description = "Must be at least 1." });
        }

        if (limits.MonthlyBudgetUsd is { } budget && !(double.IsFinite(budget) && budget is >= 0 and <= MaxBudgetUsd))
        {
            violations.Add(new() { Field = "monthly_budget_usd", Description = "Must be a finite number from 0 to 1e9." });
        }

        if (limits.AllowedModels is { } models && (models.Count > 100 || models.Any(m => m.Trim().Length is 0 or > 200)))
        {
            violations.Add(new() { Field = "allowed_models", Description = "At most 100 entries, each 1 to 200 characters (a provider, provider/model or model name)." });
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        var allowedModels = limits.AllowedModels is { Count: > 0 } asked
            ? asked.Select(m => m.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).ToList()
            : owner.Limits.AllowedModels;
        if (owner.Limits.AllowedModels is { Count: > 0 } parentModels && allowedModels is not null
            && allowedModels.Where(m => !Routing.ModelAllowList.Narrows(parentModels, m, catalog)).ToList() is { Count: > 0 } wider)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.LimitAboveCreator,
                $"A key cannot allow models its creator may not use: {string.Join(", ", wider)} (the creator may use {string.Join(", ", parentModels)}).");
        }

        var granted = scopes.Count == 0 ? owner.Scopes.ToList() : scopes.Distinct(StringComparer.Ordinal).ToList();
        var beyond = granted.Where(s => !owner.Has(s)).ToList();
        if (beyond.Count > 0)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.ScopeMissing, $"A key cannot have scopes its creator lacks: {string.Join(", ", beyond)}.");
        }

        var now = time.GetUtcNow();
        var expiresAt = expiresIn is { } lifetime ? now + lifetime : (DateTimeOffset?)null;
        if (owner.Limits.ExpiresAt is { } parentExpiry)
        {
            // A child never outlives the key that created it (admins included): no lifetime asked = the parent's.
            expiresAt ??= parentExpiry;
            if (expiresAt > parentExpiry)
            {
                throw RpcErrors.Create(Grpc.Core.StatusCode.PermissionDenied, AuthReasons.LimitAboveCreator,
                    $"A key cannot outlive the key that creates it; expires_in may be at most {Math.Floor((parentExpiry - now).TotalSeconds)} s.",
                    new Dictionary<string, string> { ["field"] = "expires_in" });
            }
        }

        var capped = owner.IsAdmin ? limits : await CapAtCreatorAsync(owner, limits, cancellationToken);
        var secret = Secrets.NewApiKey();
        var record = new ApiKeyRecord(Secrets.NewId("key"), owner.Id, name.Trim(), Secrets.LookupPrefix(secret)!, Secrets.Sha256(secret), granted, now,
            ExpiresAt: expiresAt,
            RequestsPerMinute: capped.RequestsPerMinute, TokensPerMinute: capped.TokensPerMinute, MonthlyBudgetUsd: capped.MonthlyBudgetUsd,
            ParentKeyId: owner.ApiKeyId, AllowedModels: allowedModels is { Count: > 0 } ? allowedModels : null);
        await store.CreateApiKeyAsync(record, cancellationToken);
        await audit.WriteAsync(AuditKinds.KeyCreated, owner.Id, record.Id,
            $"scopes {string.Join(' ', granted)}" + (owner.ApiKeyId is null ? "" : $"; parent {owner.ApiKeyId}"));
        return new CreatedApiKey(record, secret);
    }

    /// <summary>
    /// A non-admin creator's key gets at most what the creator has: requests/min, tokens/min and
    /// monthly budget no higher than the creator's own (its key's, else what an admin set for the
    /// user, else the configured defaults). Asking for more is PERMISSION_DENIED: only an admin
    /// raises limits. A key created by a key inherits the parent's values it does not set.
    /// </summary>
    private async Task<ApiKeyLimits> CapAtCreatorAsync(Principal owner, ApiKeyLimits asked, CancellationToken cancellationToken)
    {
        var user = await store.FindUserAsync(owner.Id, cancellationToken);
        var defaults = limitDefaults.Value;
        var rpmCap = Lower(owner.Limits.RequestsPerMinute, user?.RequestsPerMinute) ?? defaults.RequestsPerMinute;
        var tpmCap = Lower(owner.Limits.TokensPerMinute, user?.TokensPerMinute) ?? defaults.TokensPerMinute;
        var budgetCap = Lower(owner.ApiKeyId is null ? null : owner.Limits.KeyMonthlyBudgetUsd, user?.MonthlyBudgetUsd ?? defaults.MonthlyBudgetUsd);
        var beyond = new List<string>();
        if (asked.RequestsPerMinute > rpmCap)
        {
            beyond.Add($"requests_per_minute {asked.RequestsPerMinute} > {rpmCap}");
        }

        if (asked.TokensPerMinute > tpmCap)
        {
            beyond.Add($"tokens_per_minute {asked.TokensPerMinute} > {tpmCap}");
        }

        if (asked.MonthlyBudgetUsd > budgetCap)
        {
            beyond.Add($"monthly_budget_usd {asked.MonthlyBudgetUsd?.ToString(System.Globalization.CultureInfo.InvariantCulture)} > {budgetCap?.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        if (beyond.Count > 0)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.LimitAboveCreator,
                $"A key cannot have higher limits than its creator ({string.Join("; ", beyond)}); only an admin raises limits.");
        }

        // Created by a key: what the child does not set is the parent's own value, so it never has more.
        return owner.ApiKeyId is null
            ? asked
            : new ApiKeyLimits(asked.RequestsPerMinute ?? owner.Limits.RequestsPerMinute, asked.TokensPerMinute ?? owner.Limits.TokensPerMinute,
                asked.MonthlyBudgetUsd ?? owner.Limits.KeyMonthlyBudgetUsd);
    }

    private static int? Lower(int? a, int? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static double? Lower(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(Principal caller, bool allUsers, bool includeRevoked, CancellationToken cancellationToken)
    {
        if (allUsers && !caller.IsAdmin)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.ScopeMissing, "Listing every user's keys needs the admin scope.");
        }

        return store.ListApiKeysAsync(allUsers ? null : caller.Id, includeRevoked, cancellationToken);
    }

    public async Task<ApiKeyRecord> RevokeAsync(Principal caller, string keyId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(keyId))
        {
            throw RpcErrors.InvalidArgument("key_id", "Required.");
        }

        var key = await store.RevokeApiKeyAsync(keyId, caller.IsAdmin ? null : caller.Id, time.GetUtcNow(), cancellationToken)
            ?? throw RpcErrors.NotFound(AuthReasons.ApiKeyNotFound, $"No API key '{keyId}' belongs to the caller.");
        _cache.TryRemove(key.Prefix, out _);
        await audit.WriteAsync(AuditKinds.KeyRevoked, caller.Id, key.Id);

        // Keys the revoked key created (and theirs) go with it: a leaked key cannot leave children behind.
        foreach (var child in await store.RevokeDescendantKeysAsync(key.Id, time.GetUtcNow(), cancellationToken))
        {
            _cache.TryRemove(child.Prefix, out _);
            await audit.WriteAsync(AuditKinds.KeyRevoked, caller.Id, child.Id, $"created below revoked key {key.Id}");
        }

        return key;
    }

    /// <summary>The principal for <paramref name="secret"/>, or the reason it is refused.</summary>
    public async Task<(Principal? Principal, string? FailureReason)> AuthenticateAsync(string secret, CancellationToken cancellationToken)
    {
        var prefix = Secrets.LookupPrefix(secret);
        if (prefix is null)
        {
            return (null, AuthReasons.CredentialInvalid);
        }

        var now = time.GetUtcNow();
        ApiKeyRecord? key;
        UserRecord? user;
        var found = _cache.TryGetValue(prefix, out var cached);
        var staleUsable = found && cached.Until.AddSeconds(options.Value.ApiKeyStaleIfErrorSeconds) > now;
        if (found && cached.Until > now)
        {
            (key, user) = (cached.Key, cached.User);
        }
        else if (staleUsable && Volatile.Read(ref _storeDown) == 1 && now.UtcTicks < Interlocked.Read(ref _retryStoreAtTicks))
        {
            // Down a moment ago: not every call waits on a store that is not there (one try per second).
            (key, user) = (cached.Key, cached.User);
        }
        else
        {
            try
            {
                key = await store.FindApiKeyByPrefixAsync(prefix, cancellationToken);
                user = key is null ? null : await store.FindUserAsync(key.UserId, cancellationToken);
                if (Interlocked.Exchange(ref _storeDown, 0) == 1)
                {
                    Log.StoreBack(logger ?? NullLogger, store.Kind);
                }

                if (key is not null && user is not null && options.Value.ApiKeyCacheSeconds > 0)
                {
                    _cache[prefix] = (key, user, now.AddSeconds(options.Value.ApiKeyCacheSeconds));
                }
            }
            catch (Exception ex) when (Storage.StorageFailures.IsUnavailable(ex) && staleUsable)
            {
                Interlocked.Exchange(ref _retryStoreAtTicks, now.Add(StoreRetryInterval).UtcTicks);
                // The store is down: a key validated shortly before keeps working (stale-if-error), so a
                // database restart does not take the API down. A revocation made meanwhile waits for the store.
                if (Interlocked.Exchange(ref _storeDown, 1) == 0)
                {
                    Log.ServingValidatedKeys(logger ?? NullLogger, store.Kind, options.Value.ApiKeyStaleIfErrorSeconds);
                }

                // The entry is not renewed: the stale window counts from the last real validation.
                (key, user) = (cached.Key, cached.User);
            }
        }

        // Compare the full hash even when the prefix is unknown, in constant time.
        var presented = Secrets.Sha256(secret);
        var matches = Secrets.HashEquals(presented, key?.KeyHash ?? new byte[32]);
        if (key is null || user is null || !matches)
        {
            return (null, AuthReasons.CredentialInvalid);
        }

        if (key.RevokedAt is not null)
        {
            return (null, AuthReasons.CredentialRevoked);
        }

        if (key.ExpiresAt is { } expires && expires <= now)
        {
            return (null, AuthReasons.CredentialExpired);
        }

        if (user.Disabled)
        {
            return (null, AuthReasons.UserDisabled);
        }

        lastUsed.Touch(key.Id, now);
        var roleScopes = Scopes.ForRole(user.Role);
        var scopes = new HashSet<string>(key.Scopes.Where(s => roleScopes.Contains(s)), StringComparer.Ordinal);
        return (new Principal(user.Id, user.Email, user.DisplayName, user.Role, scopes, Principal.ApiKeyMethod, key.Id,
            new CredentialLimits(Lower(key.RequestsPerMinute, user.RequestsPerMinute), Lower(key.TokensPerMinute, user.TokensPerMinute),
                key.MonthlyBudgetUsd, user.MonthlyBudgetUsd, key.ExpiresAt, key.AllowedModels)), null);
    }

    /// <summary>Drops cached keys (tests, admin actions).</summary>
    public void ClearCache() => _cache.Clear();

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.AuthStoreUnavailableServingCached, Level = LogLevel.Warning,
            Message = "The {Store} identity store is unavailable: API keys validated within the last {StaleSeconds} s keep working, other credentials get UNAVAILABLE")]
        public static partial void ServingValidatedKeys(ILogger logger, string store, int staleSeconds);

        [LoggerMessage(EventId = Observability.EventIds.AuthStoreBack, Level = LogLevel.Information,
            Message = "The {Store} identity store answers again: API keys are looked up as usual")]
        public static partial void StoreBack(ILogger logger, string store);
    }
}
