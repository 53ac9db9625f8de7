using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Tests.Auth;

public sealed class IdentityServiceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryIdentityStore _store = new();
    private readonly IdentityService _identity;
    private readonly AuthOptions _options = new() { JwtSecretKey = new string('s', 40) };

    public IdentityServiceTests()
    {
        var options = Options.Create(_options);
        _identity = new IdentityService(_store, new AccessTokens(options, TimeProvider.System), new PasswordHasher(600_000),
            new AuditTrail(_store, _time, NullLogger<AuditTrail>.Instance), options, _time);
    }

    private static Principal Approver(string id) =>
        new(id, "a@example.test", "A", "developer", Scopes.ForRole("developer"), Principal.JwtMethod, null, CredentialLimits.Defaults);

    [Fact]
    public async Task PollDevice_AfterLifetime_ExpiredToken()
    {
        var (deviceCode, _, expiresIn, _) = await _identity.StartDeviceAsync(default);
        Assert.Equal(TimeSpan.FromSeconds(600), expiresIn);
        _time.Advance(TimeSpan.FromSeconds(600));
        var result = await _identity.PollDeviceAsync(deviceCode, default);
        Assert.Equal("expired_token", result.State);
    }

    [Fact]
    public async Task PollDevice_FasterThanInterval_SlowDownAddsFiveSeconds()
    {
        var (deviceCode, _, _, interval) = await _identity.StartDeviceAsync(default);
        Assert.Equal(TimeSpan.FromSeconds(5), interval);
        Assert.Equal("authorization_pending", (await _identity.PollDeviceAsync(deviceCode, default)).State);
        _time.Advance(TimeSpan.FromSeconds(4));
        var slow = await _identity.PollDeviceAsync(deviceCode, default);
        Assert.Equal("slow_down", slow.State);
        Assert.Equal(10, slow.IntervalSeconds);
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("slow_down", (await _identity.PollDeviceAsync(deviceCode, default)).State);
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal("authorization_pending", (await _identity.PollDeviceAsync(deviceCode, default)).State);
    }

    [Fact]
    public async Task ApproveDevice_Denied_PollSaysAccessDenied()
    {
        var (deviceCode, userCode, _, _) = await _identity.StartDeviceAsync(default);
        Assert.Equal("access_denied", await _identity.ApproveDeviceAsync(Approver("usr_1"), userCode, deny: true, default));
        Assert.Equal("access_denied", (await _identity.PollDeviceAsync(deviceCode, default)).State);
    }

    [Fact]
    public async Task ApproveDevice_AfterExpiry_NotFound()
    {
        var (_, userCode, _, _) = await _identity.StartDeviceAsync(default);
        _time.Advance(TimeSpan.FromMinutes(11));
        var ex = await Assert.ThrowsAsync<RpcException>(() => _identity.ApproveDeviceAsync(Approver("usr_1"), userCode, deny: false, default));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Login_LockedAfterFiveFailures_UnlocksAfterBackoff()
    {
        await _identity.SignUpAsync("dev@example.test", "correct horse battery", "Dev", default);
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RpcException>(() => _identity.LoginAsync("dev@example.test", "wrong password!!", default));
        }

        await Assert.ThrowsAsync<RpcException>(() => _identity.LoginAsync("dev@example.test", "correct horse battery", default));
        _time.Advance(TimeSpan.FromSeconds(31));
        var (user, _) = await _identity.LoginAsync("DEV@example.test", "correct horse battery", default);
        Assert.Equal(0, (await _store.FindUserAsync(user.Id, default))!.FailedLogins);
    }

    [Fact]
    public async Task Refresh_ConcurrentUseOfOneToken_OneWinsFamilyRevoked()
    {
        var (_, tokens) = await _identity.SignUpAsync("race@example.test", "correct horse battery", "", default);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            try
            {
                await _identity.RefreshAsync(tokens.RefreshToken, default);
                return "ok";
            }
            catch (RpcException ex)
            {
                return ex.Status.StatusCode.ToString();
            }
        }));
        Assert.Single(results, r => r == "ok");
        Assert.Equal(3, results.Count(r => r == nameof(StatusCode.Unauthenticated)));
    }

    [Fact]
    public void PasswordHasher_HashesAreSaltedAndVerifyConstantTimeFormat()
    {
        var hasher = new PasswordHasher(600_000);
        var a = hasher.Hash("correct horse battery");
        var b = hasher.Hash("correct horse battery");
        Assert.NotEqual(a, b);
        Assert.StartsWith("pbkdf2-sha256$600000$", a, StringComparison.Ordinal);
        Assert.True(hasher.Verify("correct horse battery", a));
        Assert.False(hasher.Verify("correct horse batterz", a));
        Assert.False(hasher.Verify("anything", null));
    }

    [Fact]
    public void Scopes_UnknownMethod_NeedsAdmin_HealthIsAnonymous()
    {
        Assert.Equal("admin", Scopes.Required("/monkeycoder.v1.NewService/Anything"));
        Assert.Null(Scopes.Required("/grpc.health.v1.Health/Check"));
        Assert.Equal("execute", Scopes.Required("/monkeycoder.v1.RouterService/Execute"));
        Assert.DoesNotContain("admin", Scopes.ForRole("developer"));
        Assert.DoesNotContain("execute", Scopes.ForRole("viewer"));
    }

    [Fact]
    public void Secrets_ApiKeyFormatAndUserCode()
    {
        var key = Secrets.NewApiKey();
        Assert.Matches("^mk_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$", key);
        Assert.Equal(key[..13], Secrets.LookupPrefix(key));
        Assert.Null(Secrets.LookupPrefix("mk_short"));
        Assert.Null(Secrets.LookupPrefix("sk_" + new string('a', 40)));
        Assert.Equal("WDJB-MJHT", Secrets.NormalizeUserCode(" wdjb mjht "));
        Assert.Null(Secrets.NormalizeUserCode("WDJB-MJH"));
    }
}
