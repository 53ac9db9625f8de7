using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Tests.Auth;

/// <summary>Sessions that cannot outgrow what created them, bounded hashing, atomic lockout and identity retention (issue 16), on fake time.</summary>
public sealed class SessionSecurityTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryIdentityStore _store = new();
    private readonly AuthOptions _options = new() { JwtSecretKey = new string('s', 40), SessionMaxDays = 30, RefreshTokenDays = 14 };

    private IdentityService Identity(PasswordHasher? hasher = null)
    {
        var options = Options.Create(_options);
        return new IdentityService(_store, new AccessTokens(options, _time), hasher ?? new PasswordHasher(600_000),
            new AuditTrail(_store, _time, NullLogger<AuditTrail>.Instance), options, _time);
    }

    [Fact]
    public async Task Refresh_StolenTokenRefreshedForever_RefusedAfterSessionMaxDays()
    {
        var identity = Identity();
        var (_, tokens) = await identity.SignUpAsync("long@example.test", "correct horse battery", "L", default);
        var refresh = tokens.RefreshToken;
        for (var day = 10; day < 30; day += 10)
        {
            _time.Advance(TimeSpan.FromDays(10));
            var next = await identity.RefreshAsync(refresh, default);
            Assert.True(next.RefreshLifetime <= TimeSpan.FromDays(30 - day), $"day {day}: refresh lifetime {next.RefreshLifetime} runs past the session's end");
            refresh = next.RefreshToken;
        }

        _time.Advance(TimeSpan.FromDays(10));
        var ex = await Assert.ThrowsAsync<RpcException>(() => identity.RefreshAsync(refresh, default));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task ApproveDevice_NarrowApiKey_PermissionDenied_FullKeySessionEndsWithKey()
    {
        var identity = Identity();
        var admin = new UserRecord("usr_admin", "root@example.test", "Root", null, Scopes.Roles.AdminRole, _time.GetUtcNow());
        await _store.TryCreateUserAsync(admin, default);
        var key = new ApiKeyRecord("key_full", admin.Id, "full", "mk_fullfull", new byte[32], Scopes.All.ToList(), _time.GetUtcNow(), ExpiresAt: _time.GetUtcNow().AddHours(2));
        await _store.CreateApiKeyAsync(key, default);

        var narrow = new Principal(admin.Id, admin.Email, "Root", admin.Role, new HashSet<string> { Scopes.ModelsRead }, Principal.ApiKeyMethod, "key_narrow", CredentialLimits.Defaults);
        var (deviceCode, userCode, _, _) = await identity.StartDeviceAsync(default);
        var ex = await Assert.ThrowsAsync<RpcException>(() => identity.ApproveDeviceAsync(narrow, userCode, deny: false, default));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal("authorization_pending", (await identity.PollDeviceAsync(deviceCode, default)).State);

        var full = narrow with { Scopes = Scopes.ForRole(Scopes.Roles.AdminRole), ApiKeyId = key.Id };
        Assert.Equal("approved", await identity.ApproveDeviceAsync(full, userCode, deny: false, default));
        _time.Advance(TimeSpan.FromSeconds(10));
        var poll = await identity.PollDeviceAsync(deviceCode, default);
        Assert.Equal("approved", poll.State);
        Assert.True(poll.Tokens!.RefreshLifetime <= TimeSpan.FromHours(2), $"session lives {poll.Tokens.RefreshLifetime}, longer than the approving key");
    }

    [Fact]
    public async Task PasswordHasher_FloodOfSignIns_NeverMoreThanConcurrencyAtOnceAndExcessRefusedWhenQueueFull()
    {
        var hasher = new PasswordHasher(600_000, concurrency: 2, queueTimeout: TimeSpan.FromSeconds(60));
        var stored = hasher.Hash("correct horse battery");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => hasher.VerifyAsync("guess " + i, stored, default)));
        Assert.InRange(hasher.PeakConcurrency, 1, 2);

        var impatient = new PasswordHasher(600_000, concurrency: 1, queueTimeout: TimeSpan.Zero);
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Record.ExceptionAsync(() => impatient.VerifyAsync("guess " + i, stored, default))));
        var busy = results.OfType<RpcException>().Where(e => e.StatusCode == StatusCode.ResourceExhausted).ToList();
        Assert.NotEmpty(busy);
        Assert.Equal(1, impatient.PeakConcurrency);
    }

    [Fact]
    public async Task Login_ParallelWrongPasswords_EachCountsAndLocks()
    {
        var identity = Identity(new PasswordHasher(600_000, concurrency: 4, queueTimeout: TimeSpan.FromSeconds(60)));
        await identity.SignUpAsync("race@example.test", "correct horse battery", "R", default);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => Record.ExceptionAsync(() => identity.LoginAsync("race@example.test", "wrong " + i + " password", default))));
        var user = await _store.FindUserByEmailAsync("race@example.test", default);
        Assert.Equal(5, user!.FailedLogins);
        Assert.NotNull(user.LockedUntil);
    }

    [Fact]
    public async Task SignUp_ProductionWithoutOptIn_ClosedByDefault()
    {
        // AddMonkeyCoderAuth sets AllowSignUp to false when ENVIRONMENT=production and nothing was configured.
        _options.AllowSignUp = false;
        var ex = await Assert.ThrowsAsync<RpcException>(() => Identity().SignUpAsync("new@example.test", "correct horse battery", "N", default));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task Retention_ExpiredDeviceCodesRefreshTokensAndOldAudit_Purged()
    {
        var identity = Identity();
        await identity.StartDeviceAsync(default);
        await identity.SignUpAsync("old@example.test", "correct horse battery", "O", default);
        _time.Advance(TimeSpan.FromDays(400));
        var (liveDevice, _, _, _) = await identity.StartDeviceAsync(default);

        var retention = new IdentityRetention(_store, Options.Create(_options), _time, NullLogger<IdentityRetention>.Instance);
        var purged = await retention.PurgeOnceAsync(default);
        Assert.True(purged >= 3, $"purged {purged}: expected the old device code, refresh token and sign-up audit event");
        Assert.Empty(await _store.ListAuditAsync(100, null, null, default));
        Assert.Equal("authorization_pending", (await identity.PollDeviceAsync(liveDevice, default)).State);
    }
}
