using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Core.Auth;

/// <summary>Tokens handed to a signed-in user. Scopes: what the session may do — the role's, or fewer when a narrower credential approved a device.</summary>
internal sealed record IssuedTokens(string AccessToken, TimeSpan AccessLifetime, string RefreshToken, TimeSpan RefreshLifetime, IReadOnlyList<string>? Scopes = null);

/// <summary>What a device poll found (RFC 8628 §3.5).</summary>
internal sealed record DevicePollResult(string State, int IntervalSeconds, IssuedTokens? Tokens = null, UserRecord? User = null);

/// <summary>
/// Accounts, sign-in, rotating refresh tokens and the device flow. Every failure that could tell
/// whether an account exists is the same generic UNAUTHENTICATED; time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class IdentityService(
    IIdentityStore store,
    AccessTokens accessTokens,
    PasswordHasher passwords,
    AuditTrail audit,
    IOptions<AuthOptions> options,
    TimeProvider time)
{
    public const string DevicePending = "authorization_pending";
    public const string DeviceSlowDown = "slow_down";
    public const string DeviceExpired = "expired_token";
    public const string DeviceDenied = "access_denied";
    public const string DeviceApproved = "approved";

    private static readonly TimeSpan MaxLockout = TimeSpan.FromMinutes(15);
    private readonly AuthOptions _options = options.Value;

    /// <summary>Where users approve device codes (<c>AUTH_VERIFICATION_URI</c>).</summary>
    public string VerificationUri => _options.VerificationUri;

    public async Task<(UserRecord User, IssuedTokens Tokens)> SignUpAsync(string email, string password, string displayName, CancellationToken cancellationToken)
    {
        if (_options.AllowSignUp == false)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.SignUpDisabled, "Sign-up is disabled on this service; ask an admin for an API key.");
        }

        email = email.Trim();
        var violations = new List<Google.Rpc.BadRequest.Types.FieldViolation>();
        if (email.Length is < 3 or > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            violations.Add(new() { Field = "email", Description = "Must be an email address." });
        }

        if (password.Length is < 12 or > 1024)
        {
            violations.Add(new() { Field = "password", Description = "Must be 12 to 1024 characters." });
        }

        if (displayName.Length > 200)
        {
            violations.Add(new() { Field = "display_name", Description = "At most 200 characters." });
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        var user = new UserRecord(Secrets.NewId("usr"), email, displayName, await passwords.HashAsync(password, cancellationToken), Scopes.Roles.Developer, time.GetUtcNow());
        if (!await store.TryCreateUserAsync(user, cancellationToken))
        {
            // Without email verification a sign-up cannot hide that the address is taken; say as little as possible.
            throw RpcErrors.FailedPrecondition(AuthReasons.SignUpRejected, "The account could not be created with these details.");
        }

        await audit.WriteAsync(AuditKinds.SignUp, user.Id, user.Id);
        return (user, await StartSessionAsync(user, cancellationToken));
    }

    public async Task<(UserRecord User, IssuedTokens Tokens)> LoginAsync(string email, string password, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var user = await store.FindUserByEmailAsync(email.Trim(), cancellationToken);

        // Always one full hash derivation, found or not, locked or not: timing says nothing.
        var valid = await passwords.VerifyAsync(password, user?.PasswordHash, cancellationToken);
        if (user is null)
        {
            await audit.WriteAsync(AuditKinds.LoginFailed, null, EmailFingerprint(email), "unknown account");
            throw InvalidCredentials();
        }

        if (user.LockedUntil is { } lockedUntil && lockedUntil > now)
        {
            await audit.WriteAsync(AuditKinds.LoginLocked, user.Id, user.Id, "attempt while locked");
            throw InvalidCredentials();
        }

        if (!valid)
        {
            // Counted in the store in one statement: N concurrent wrong passwords count N.
            var failures = await store.IncrementFailedLoginsAsync(user.Id, cancellationToken);
            DateTimeOffset? lockUntil = null;
            if (failures >= _options.MaxFailedLogins)
            {
                var doublings = Math.Min(failures - _options.MaxFailedLogins, 20);
                var lockout = TimeSpan.FromSeconds(_options.LockoutSeconds * Math.Pow(2, doublings));
                lockUntil = now + (lockout > MaxLockout ? MaxLockout : lockout);
                await store.ExtendLockAsync(user.Id, lockUntil.Value, cancellationToken);
            }

            await audit.WriteAsync(AuditKinds.LoginFailed, user.Id, user.Id, lockUntil is null ? $"failure {failures}" : $"failure {failures}; locked");
            throw InvalidCredentials();
        }

        if (user.FailedLogins != 0 || user.LockedUntil is not null)
        {
            await store.SetLoginStateAsync(user.Id, 0, null, cancellationToken);
        }

        ThrowIfDisabled(user);
        await audit.WriteAsync(AuditKinds.LoginSucceeded, user.Id, user.Id);
        return (user, await StartSessionAsync(user, cancellationToken));
    }

    public async Task<IssuedTokens> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = refreshToken.Length is > 0 and < 512 ? await store.FindRefreshTokenAsync(Secrets.Sha256(refreshToken), cancellationToken) : null;
        if (token is null)
        {
            throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenInvalid, "The refresh token is not valid; sign in again.");
        }

        if (token.RotatedAt is not null || token.RevokedAt is not null || !await store.TryRotateRefreshTokenAsync(token.Id, now, cancellationToken))
        {
            if (token.RevokedAt is null || token.RotatedAt is not null)
            {
                // A rotated token came back: someone holds a copy. End the whole session.
                var revoked = await store.RevokeFamilyAsync(token.FamilyId, now, cancellationToken);
                await audit.WriteAsync(AuditKinds.RefreshReuse, token.UserId, token.FamilyId, $"family revoked ({revoked} active tokens)");
                throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenReused, "This refresh token was already used; the session has been ended. Sign in again.");
            }

            throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenInvalid, "The refresh token is not valid; sign in again.");
        }

        var familyEnd = FamilyEnd(token);
        if (token.ExpiresAt <= now || familyEnd <= now)
        {
            throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenInvalid, "The refresh token expired; sign in again.");
        }

        var user = await store.FindUserAsync(token.UserId, cancellationToken)
            ?? throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenInvalid, "The refresh token is not valid; sign in again.");
        ThrowIfDisabled(user);
        return await IssueAsync(user, token.FamilyId, familyEnd, token.Scopes, cancellationToken);
    }

    /// <summary>A user an admin disabled gets no new session or access token (its current access token ends within its lifetime).</summary>
    private static void ThrowIfDisabled(UserRecord user)
    {
        if (user.Disabled)
        {
            throw RpcErrors.PermissionDenied(AuthReasons.UserDisabled, "This user has been disabled by an administrator.");
        }
    }

    public async Task LogoutAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var token = refreshToken.Length is > 0 and < 512 ? await store.FindRefreshTokenAsync(Secrets.Sha256(refreshToken), cancellationToken) : null;
        if (token is null)
        {
            throw RpcErrors.Unauthenticated(AuthReasons.RefreshTokenInvalid, "The refresh token is not valid.");
        }

        await store.RevokeFamilyAsync(token.FamilyId, time.GetUtcNow(), cancellationToken);
        await audit.WriteAsync(AuditKinds.Logout, token.UserId, token.FamilyId);
    }

    public async Task<(string DeviceCode, string UserCode, TimeSpan ExpiresIn, TimeSpan Interval)> StartDeviceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var deviceCode = Secrets.NewToken(32);
        for (var attempt = 1; ; attempt++)
        {
            var record = new DeviceAuthorizationRecord(Secrets.NewId("dev"), Secrets.Sha256(deviceCode), Secrets.NewUserCode(), now,
                now.AddSeconds(_options.DeviceCodeSeconds), _options.DeviceIntervalSeconds, null, DeviceStatus.Pending, null);
            try
            {
                await store.CreateDeviceAuthorizationAsync(record, cancellationToken);
                return (deviceCode, record.UserCode, TimeSpan.FromSeconds(_options.DeviceCodeSeconds), TimeSpan.FromSeconds(_options.DeviceIntervalSeconds));
            }
            catch (Exception ex) when (attempt < 3 && ex is InvalidOperationException or Npgsql.PostgresException { SqlState: "23505" })
            {
                // A pending user code collided (1 in 2^34 per pending code): draw another.
            }
        }
    }

    public async Task<DevicePollResult> PollDeviceAsync(string deviceCode, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var device = deviceCode.Length is > 0 and < 512 ? await store.FindDeviceAuthorizationAsync(Secrets.Sha256(deviceCode), cancellationToken) : null;
        if (device is null || device.Status == DeviceStatus.Consumed)
        {
            throw RpcErrors.Unauthenticated(AuthReasons.DeviceCodeInvalid, "The device code is not valid (invalid_grant).");
        }

        if (device.ExpiresAt <= now)
        {
            return new DevicePollResult(DeviceExpired, device.IntervalSeconds);
        }

        if (device.Status == DeviceStatus.Denied)
        {
            return new DevicePollResult(DeviceDenied, device.IntervalSeconds);
        }

        if (device.LastPolledAt is { } last && now - last < TimeSpan.FromSeconds(device.IntervalSeconds))
        {
            // RFC 8628 §3.5: slow_down adds 5 s to the interval for this and every later request.
            var slower = device.IntervalSeconds + 5;
            await store.RecordDevicePollAsync(device.Id, now, slower, cancellationToken);
            return new DevicePollResult(DeviceSlowDown, slower);
        }

        await store.RecordDevicePollAsync(device.Id, now, device.IntervalSeconds, cancellationToken);
        if (device.Status != DeviceStatus.Approved || device.UserId is null)
        {
            return new DevicePollResult(DevicePending, device.IntervalSeconds);
        }

        // Tokens are handed out once: whoever moves approved → consumed gets them.
        if (!await store.TransitionDeviceAuthorizationAsync(device.Id, DeviceStatus.Approved, DeviceStatus.Consumed, null, cancellationToken))
        {
            throw RpcErrors.Unauthenticated(AuthReasons.DeviceCodeInvalid, "The device code is not valid (invalid_grant).");
        }

        var user = await store.FindUserAsync(device.UserId, cancellationToken)
            ?? throw RpcErrors.Unauthenticated(AuthReasons.DeviceCodeInvalid, "The device code is not valid (invalid_grant).");

        // No more than the approving credential allowed (recorded at approval); an approval from
        // before scopes were recorded gets nothing rather than the whole role.
        var end = device.SessionExpiresAt ?? now;
        if (end <= now)
        {
            return new DevicePollResult(DeviceExpired, device.IntervalSeconds);
        }

        var session = await IssueAsync(user, Secrets.NewId("fam"), end, device.Scopes ?? [], cancellationToken);
        return new DevicePollResult(DeviceApproved, device.IntervalSeconds, session, user);
    }

    public async Task<string> ApproveDeviceAsync(Principal approver, string userCode, bool deny, CancellationToken cancellationToken)
    {
        var code = Secrets.NormalizeUserCode(userCode) ?? throw RpcErrors.InvalidArgument("user_code", "Must be 8 letters, e.g. WDJB-MJHT.");
        var device = await store.FindPendingDeviceAuthorizationAsync(code, cancellationToken);
        if (device is null || device.ExpiresAt <= time.GetUtcNow())
        {
            throw RpcErrors.NotFound(AuthReasons.UserCodeInvalid, "No pending device authorization has this code; it may have expired.");
        }

        bool moved;
        if (deny)
        {
            // Anyone signed in may refuse a code they were shown.
            moved = await store.TransitionDeviceAuthorizationAsync(device.Id, DeviceStatus.Pending, DeviceStatus.Denied, approver.Id, cancellationToken);
        }
        else
        {
            var (scopes, end) = await ApprovalGrantAsync(approver, cancellationToken);
            moved = await store.ApproveDeviceAuthorizationAsync(device.Id, approver.Id, scopes, end, cancellationToken);
        }

        if (!moved)
        {
            throw RpcErrors.NotFound(AuthReasons.UserCodeInvalid, "No pending device authorization has this code; it may have expired.");
        }

        await audit.WriteAsync(deny ? AuditKinds.DeviceDenied : AuditKinds.DeviceApproved, approver.Id, device.Id);
        return deny ? DeviceDenied : DeviceApproved;
    }

    /// <summary>
    /// Ends every session of <paramref name="userId"/> (all refresh-token families). Access tokens
    /// already issued stay valid until they expire (at most AccessTokenMinutes).
    /// </summary>
    public async Task<int> EndUserSessionsAsync(Principal admin, string userId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(userId) || userId.Length > 200)
        {
            throw RpcErrors.InvalidArgument("user_id", "Required: the id of the user whose sessions to end.");
        }

        if (await store.FindUserAsync(userId, cancellationToken) is null)
        {
            throw RpcErrors.NotFound(AuthReasons.UserNotFound, "No user has this id.");
        }

        var ended = await store.RevokeUserSessionsAsync(userId, time.GetUtcNow(), cancellationToken);
        await audit.WriteAsync(AuditKinds.SessionsEnded, admin.Id, userId, $"{ended} sessions ended");
        return ended;
    }

    /// <summary>
    /// What a device approved by <paramref name="approver"/> may get: an interactive session (access
    /// token) grants its own scopes until its own session ends; an API key must hold every scope of
    /// the user's role and grants them until the key expires. Anything else is PERMISSION_DENIED, so a
    /// narrow key cannot mint a wider session.
    /// </summary>
    private async Task<(IReadOnlyList<string> Scopes, DateTimeOffset End)> ApprovalGrantAsync(Principal approver, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cap = now + TimeSpan.FromDays(_options.SessionMaxDays);
        var role = Scopes.ForRole(approver.Role);
        IReadOnlyList<string> Granted() => role.Where(approver.Has).Order(StringComparer.Ordinal).ToList();

        if (approver.AuthMethod == Principal.JwtMethod && approver.SessionId is { Length: > 0 } sid)
        {
            var head = await store.FindFamilyHeadAsync(sid, cancellationToken);
            if (head is null || head.UserId != approver.Id || head.RevokedAt is not null || FamilyEnd(head) <= now)
            {
                throw RpcErrors.PermissionDenied(AuthReasons.ApprovalNotAllowed, "This session has ended; sign in again to approve a device.");
            }

            var end = FamilyEnd(head);
            return (Granted(), end < cap ? end : cap);
        }

        if (approver.AuthMethod == Principal.ApiKeyMethod && approver.ApiKeyId is { } keyId)
        {
            var missing = role.Where(s => !approver.Has(s)).Order(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                throw RpcErrors.PermissionDenied(AuthReasons.ApprovalNotAllowed,
                    $"Approving a device needs a signed-in session or an API key with every scope of the '{approver.Role}' role; this key lacks: {string.Join(", ", missing)}.");
            }

            var keys = await store.ListApiKeysAsync(approver.Id, includeRevoked: false, cancellationToken);
            var key = keys.FirstOrDefault(k => k.Id == keyId)
                ?? throw RpcErrors.PermissionDenied(AuthReasons.ApprovalNotAllowed, "This API key can no longer approve devices.");
            return (Granted(), key.ExpiresAt is { } expires && expires < cap ? expires : cap);
        }

        throw RpcErrors.PermissionDenied(AuthReasons.ApprovalNotAllowed, "Approving a device needs a signed-in session or an API key with every scope of your role.");
    }

    /// <summary>The absolute end of a token's session; families from before it was recorded end SessionMaxDays after this token.</summary>
    private DateTimeOffset FamilyEnd(RefreshTokenRecord token) => token.FamilyExpiresAt ?? token.CreatedAt + TimeSpan.FromDays(_options.SessionMaxDays);

    private Task<IssuedTokens> StartSessionAsync(UserRecord user, CancellationToken cancellationToken) =>
        IssueAsync(user, Secrets.NewId("fam"), time.GetUtcNow() + TimeSpan.FromDays(_options.SessionMaxDays), null, cancellationToken);

    /// <summary>Tokens of a session ending at <paramref name="familyEnd"/> (none outlives it) with <paramref name="scopes"/> (null = the role's).</summary>
    private async Task<IssuedTokens> IssueAsync(UserRecord user, string family, DateTimeOffset familyEnd, IReadOnlyList<string>? scopes, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var untilEnd = familyEnd - now;
        var refreshLifetime = Min(TimeSpan.FromDays(_options.RefreshTokenDays), untilEnd);
        var accessLifetime = Min(accessTokens.Lifetime, untilEnd);
        var refresh = "rt_" + Secrets.NewToken(32);
        await store.CreateRefreshTokenAsync(new RefreshTokenRecord(Secrets.NewId("rft"), family, user.Id, Secrets.Sha256(refresh), now, now + refreshLifetime,
            FamilyExpiresAt: familyEnd, Scopes: scopes), cancellationToken);
        var access = accessTokens.Issue(new AccessTokenClaims(user.Id, user.Email, user.DisplayName, user.Role, family, user.MonthlyBudgetUsd,
            user.RequestsPerMinute, user.TokensPerMinute, scopes), accessLifetime);
        return new IssuedTokens(access, accessLifetime, refresh, refreshLifetime, scopes ?? Scopes.ForRole(user.Role).Order(StringComparer.Ordinal).ToList());
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static RpcException InvalidCredentials() =>
        RpcErrors.Unauthenticated(AuthReasons.InvalidCredentials, "Email or password is incorrect, or the account is temporarily locked.");

    /// <summary>A non-reversible tag for an unknown email in audit events (never the address itself).</summary>
    private static string EmailFingerprint(string email) =>
        "email-sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant())))[..16].ToLowerInvariant();
}
