using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>Configuration precedence, the credentials file, and the commands still waiting on server RPCs.</summary>
[Collection(CliCollection.Name)]
public sealed class CliConfigTests(CliServiceFixture fixture) : IDisposable
{
    private readonly CliProcess.Home _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task BaseUrl_FlagOverEnvOverFileOverDefault()
    {
        var live = fixture.Host.Address.ToString().TrimEnd('/');
        var dead = $"http://127.0.0.1:{HostProcess.FreePort()}";

        var set = await CliProcess.RunAsync(_home, null, ["config", "set", "base-url", live]);
        var fromFile = await CliProcess.RunAsync(_home, null, ["health"]);
        var envOverFile = await CliProcess.RunAsync(_home, new Uri(dead), ["health"]);
        var flagOverEnv = await CliProcess.RunAsync(_home, new Uri(dead), ["health", "--base-url", live]);
        var get = await CliProcess.RunAsync(_home, null, ["config", "get", "base-url"]);
        var list = await CliProcess.RunAsync(_home, null, ["config", "list", "--json"]);

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.True(envOverFile.ExitCode == 5, envOverFile.ToString());
        Assert.True(flagOverEnv.ExitCode == 0, flagOverEnv.ToString());
        Assert.Equal(live, get.Stdout.Trim());
        Assert.Equal(live, JsonDocument.Parse(list.Stdout).RootElement.GetProperty("base-url").GetString());
        Assert.True(File.Exists(Path.Combine(_home.ConfigDirectory, "config.json")));
    }

    [Fact]
    public async Task Config_SettingsFeedTaskCommands_AndBadValuesAreUsageErrors()
    {
        await CliProcess.RunAsync(_home, null, ["config", "set", "max-tokens", "25"]);

        var run = await CliProcess.RunAsync(_home, fixture.Host.Address, ["implement", "fizzbuzz in python", "--json"]);
        var badKey = await CliProcess.RunAsync(_home, null, ["config", "set", "colour", "blue"]);
        var badValue = await CliProcess.RunAsync(_home, null, ["config", "set", "strategy", "fastest"]);
        var unset = await CliProcess.RunAsync(_home, null, ["config", "get", "model"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var final = JsonDocument.Parse(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal(25, final.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.True(badKey.ExitCode == 2, badKey.ToString());
        Assert.True(badValue.ExitCode == 2, badValue.ToString());
        Assert.True(unset.ExitCode == 1, unset.ToString());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task AuthLogin_StoresKeyPrivately_StatusAndLogoutUseIt()
    {
        var login = await CliProcess.RunAsync(_home, fixture.Host.Address, ["auth", "login", "--with-key"], "mk_test_0123456789abcdef\n");
        var path = Path.Combine(_home.ConfigDirectory, "credentials.json");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_home.ConfigDirectory));
        Assert.Contains("mk_test_0123456789abcdef", await File.ReadAllTextAsync(path), StringComparison.Ordinal);

        var status = await CliProcess.RunAsync(_home, fixture.Host.Address, ["auth", "status", "--json"]);
        var envWins = await CliProcess.RunAsync(_home, fixture.Host.Address, ["auth", "status", "--json"], environment: new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = "mk_env_key_99999999" });
        // The stored key goes out as `authorization: Bearer` on calls; the Service (no auth yet) still answers.
        var call = await CliProcess.RunAsync(_home, fixture.Host.Address, ["implement", "fizzbuzz", "--max-tokens", "10"]);
        var logout = await CliProcess.RunAsync(_home, fixture.Host.Address, ["auth", "logout"]);
        var after = await CliProcess.RunAsync(_home, fixture.Host.Address, ["auth", "status"]);

        Assert.True(status.ExitCode == 0, status.ToString());
        var s = JsonDocument.Parse(status.Stdout).RootElement;
        Assert.Equal("file", s.GetProperty("credentials_source").GetString());
        Assert.Equal("mk_t…cdef", s.GetProperty("key_hint").GetString());
        Assert.DoesNotContain("0123456789", status.Stdout + status.Stderr, StringComparison.Ordinal);
        Assert.Equal("env MONKEY_CODER_API_KEY", JsonDocument.Parse(envWins.Stdout).RootElement.GetProperty("credentials_source").GetString());
        Assert.True(call.ExitCode == 0, call.ToString());
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.False(File.Exists(path));
        Assert.True(after.ExitCode == 3, after.ToString());
    }
}
