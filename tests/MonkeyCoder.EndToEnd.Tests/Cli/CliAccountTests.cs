using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Auth;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>
/// auth (device flow, refresh, logout, status, approve) and keys against a Service that enforces
/// authentication, on real PostgreSQL and Redis, with the CLI as a process.
/// </summary>
public sealed class CliAccountTests(SecuredServiceFixture fixture) : IClassFixture<SecuredServiceFixture>, IDisposable
{
    private static readonly Dictionary<string, string> Admin = new() { ["MONKEY_CODER_API_KEY"] = ServiceFixture.AdminKey };
    private readonly CliProcess.Home _home = new();

    private Uri Address => fixture.Host.Address;

    private string CredentialsPath => Path.Combine(_home.ConfigDirectory, "credentials.json");

    public void Dispose() => _home.Dispose();

    /// <summary>Runs `monkey auth login --json`, approves (or denies) its code with `monkey auth approve` as the admin, and returns the login's result.</summary>
    private async Task<(CliResult Login, CliResult Approve)> DeviceLoginAsync(bool deny = false)
    {
        await using var login = CliProcess.Start(_home, Address, ["auth", "login", "--json"]);
        Assert.True(await login.WaitForLineAsync(l => l.Contains("\"device_code\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), "no device code was printed");
        var code = JsonDocument.Parse(login.StdoutLines.First(l => l.Contains("\"device_code\"", StringComparison.Ordinal))).RootElement;
        Assert.StartsWith("http", code.GetProperty("verification_uri").GetString(), StringComparison.Ordinal);
        Assert.Contains(Uri.EscapeDataString(code.GetProperty("user_code").GetString()!), code.GetProperty("verification_uri_complete").GetString(), StringComparison.Ordinal);

        using var approver = new CliProcess.Home();
        var args = new List<string> { "auth", "approve", code.GetProperty("user_code").GetString()! };
        if (deny)
        {
            args.Add("--deny");
        }

        var approve = await CliProcess.RunAsync(approver, Address, args, environment: Admin);
        return (await login.WaitAsync(TimeSpan.FromSeconds(30)), approve);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task DeviceLogin_ApprovedByAdmin_StoresPrivateSession_StatusVerifiesIt_CallsWork()
    {
        var (login, approve) = await DeviceLoginAsync();

        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.True(login.ExitCode == 0, login.ToString());
        var loggedIn = JsonDocument.Parse(login.StdoutLines().Last()).RootElement;
        Assert.Equal("logged_in", loggedIn.GetProperty("type").GetString());
        Assert.Equal("admin@localhost", loggedIn.GetProperty("email").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CredentialsPath));
        var stored = JsonNode.Parse(await File.ReadAllTextAsync(CredentialsPath))!;
        Assert.False(string.IsNullOrEmpty((string?)stored["access_token"]));
        Assert.False(string.IsNullOrEmpty((string?)stored["refresh_token"]));
        Assert.Equal(Address.ToString().TrimEnd('/'), (string?)stored["base_url"]);

        var status = await CliProcess.RunAsync(_home, Address, ["auth", "status", "--json"]);
        var implement = await CliProcess.RunAsync(_home, Address, ["implement", "fizzbuzz in python", "--max-tokens", "20"]);

        Assert.True(status.ExitCode == 0, status.ToString());
        var s = JsonDocument.Parse(status.Stdout).RootElement;
        Assert.True(s.GetProperty("server_verified").GetBoolean());
        Assert.Equal("device login session", s.GetProperty("credential_kind").GetString());
        Assert.Equal("jwt", s.GetProperty("auth_method").GetString());
        Assert.Equal("admin", s.GetProperty("role").GetString());
        Assert.DoesNotContain((string)stored["access_token"]!, status.Stdout + status.Stderr, StringComparison.Ordinal);
        Assert.True(implement.ExitCode == 0, implement.ToString());
        Assert.False(string.IsNullOrWhiteSpace(implement.Stdout));
    }

    [Fact]
    public async Task ExpiredAccessToken_IsRefreshedBeforeTheCall_RotatedPairSaved_OldRefreshTokenDead()
    {
        var (login, _) = await DeviceLoginAsync();
        Assert.True(login.ExitCode == 0, login.ToString());
        var before = JsonNode.Parse(await File.ReadAllTextAsync(CredentialsPath))!;
        var oldRefresh = (string)before["refresh_token"]!;
        before["access_expires_at"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        await File.WriteAllTextAsync(CredentialsPath, before.ToJsonString());

        var models = await CliProcess.RunAsync(_home, Address, ["models", "--json"]);

        Assert.True(models.ExitCode == 0, models.ToString());
        var after = JsonNode.Parse(await File.ReadAllTextAsync(CredentialsPath))!;
        Assert.NotEqual(oldRefresh, (string)after["refresh_token"]!);
        Assert.NotEqual((string)before["access_token"]!, (string)after["access_token"]!);
        Assert.True(DateTimeOffset.Parse((string)after["access_expires_at"]!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow);

        // The rotated-out refresh token is dead (and presenting it again revokes the whole family).
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var reuse = await Assert.ThrowsAsync<RpcException>(() => auth.RefreshAsync(new RefreshRequest { RefreshToken = oldRefresh }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, reuse.StatusCode);
        var next = await CliProcess.RunAsync(_home, Address, ["auth", "status"]);
        Assert.True(next.ExitCode == 0 || next.ExitCode == 3, next.ToString());
    }

    [Fact]
    public async Task RefreshRefused_ExitsThreeWithOneLineTellingToLogInAgain()
    {
        var (login, _) = await DeviceLoginAsync();
        Assert.True(login.ExitCode == 0, login.ToString());
        var stored = JsonNode.Parse(await File.ReadAllTextAsync(CredentialsPath))!;
        stored["access_expires_at"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        stored["refresh_token"] = "rt_not_a_real_token_0123456789abcdefghijklmnop";
        await File.WriteAllTextAsync(CredentialsPath, stored.ToJsonString());

        var result = await CliProcess.RunAsync(_home, Address, ["models"]);

        Assert.True(result.ExitCode == 3, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("your login session is over", line, StringComparison.Ordinal);
        Assert.Contains("monkey auth login", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_RevokesTheSessionOnTheService_AndDeletesTheFile()
    {
        var (login, _) = await DeviceLoginAsync();
        Assert.True(login.ExitCode == 0, login.ToString());
        var refresh = (string)JsonNode.Parse(await File.ReadAllTextAsync(CredentialsPath))!["refresh_token"]!;

        var logout = await CliProcess.RunAsync(_home, Address, ["auth", "logout"]);
        var status = await CliProcess.RunAsync(_home, Address, ["auth", "status"]);

        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.Contains("revoked", logout.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(CredentialsPath));
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var refused = await Assert.ThrowsAsync<RpcException>(() => auth.RefreshAsync(new RefreshRequest { RefreshToken = refresh }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.True(status.ExitCode == 3, status.ToString());
    }

    [Fact]
    public async Task DeviceLogin_Denied_ExitsThree_StoresNothing()
    {
        var (login, approve) = await DeviceLoginAsync(deny: true);

        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Contains("denied", approve.Stderr, StringComparison.Ordinal);
        Assert.True(login.ExitCode == 3, login.ToString());
        Assert.Contains("login denied", login.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(CredentialsPath));
    }

    [Fact]
    public async Task StoredCredentials_AreNotSentToAnotherService()
    {
        var login = await CliProcess.RunAsync(_home, Address, ["auth", "login", "--api-key", ServiceFixture.AdminKey]);
        Assert.True(login.ExitCode == 0, login.ToString());

        var elsewhere = await CliProcess.RunAsync(_home, new Uri("http://127.0.0.1:9"), ["auth", "status"]);
        var here = await CliProcess.RunAsync(_home, Address, ["auth", "status"]);

        Assert.True(elsewhere.ExitCode == 3, elsewhere.ToString());
        Assert.Contains("the stored credentials are for " + Address.ToString().TrimEnd('/'), elsewhere.Stderr, StringComparison.Ordinal);
        Assert.True(here.ExitCode == 0, here.ToString());
        Assert.Contains("admin@localhost (admin)", here.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_CreatePrintsSecretOnce_ListShowsIt_ScopesHold_RevokeByPrefixStopsIt()
    {
        var name = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var create = await CliProcess.RunAsync(_home, Address, ["keys", "create", name, "--scope", "models:read", "--scope", "execute", "--expires-in", "1d"], environment: Admin);

        Assert.True(create.ExitCode == 0, create.ToString());
        var secret = Assert.Single(create.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mk_", secret, StringComparison.Ordinal);
        Assert.Contains("only time the secret is shown", create.Stderr, StringComparison.Ordinal);

        var list = await CliProcess.RunAsync(_home, Address, ["keys", "list", "--json"], environment: Admin);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.DoesNotContain(secret, list.Stdout, StringComparison.Ordinal);
        var key = list.StdoutLines().Select(l => JsonDocument.Parse(l).RootElement).Single(k => k.GetProperty("name").GetString() == name);
        Assert.Equal(["execute", "models:read"], key.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.StartsWith(key.GetProperty("prefix").GetString()!, secret, StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, key.GetProperty("expire_time").ValueKind);

        var withKey = new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = secret };
        var models = await CliProcess.RunAsync(_home, Address, ["models"], environment: withKey);
        var forbidden = await CliProcess.RunAsync(_home, Address, ["keys", "list"], environment: withKey);
        Assert.True(models.ExitCode == 0, models.ToString());
        Assert.True(forbidden.ExitCode == 3, forbidden.ToString());
        Assert.Contains("permission denied", forbidden.Stderr, StringComparison.Ordinal);

        var revoke = await CliProcess.RunAsync(_home, Address, ["keys", "revoke", key.GetProperty("prefix").GetString()!], environment: Admin);
        var afterRevoke = await CliProcess.RunAsync(_home, Address, ["models"], environment: withKey);
        var listed = await CliProcess.RunAsync(_home, Address, ["keys", "list", "--include-revoked"], environment: Admin);

        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        Assert.Contains("revoked key " + key.GetProperty("key_id").GetString(), revoke.Stderr, StringComparison.Ordinal);
        Assert.True(afterRevoke.ExitCode == 3, afterRevoke.ToString());
        Assert.Contains(name, listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("revoked", listed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_BadLifetime_ExitsTwo_UnknownPrefix_ExitsSix()
    {
        var lifetime = await CliProcess.RunAsync(_home, Address, ["keys", "create", "x", "--expires-in", "soon"], environment: Admin);
        var unknown = await CliProcess.RunAsync(_home, Address, ["keys", "revoke", "mk_nosuchkey"], environment: Admin);

        Assert.True(lifetime.ExitCode == 2, lifetime.ToString());
        Assert.Contains("--expires-in 'soon'", lifetime.Stderr, StringComparison.Ordinal);
        Assert.True(unknown.ExitCode == 6, unknown.ToString());
    }
}
