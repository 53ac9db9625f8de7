using System.Text.Json;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>`monkey chat` driven through redirected stdin against the real Service.</summary>
[Collection(CliCollection.Name)]
public sealed class CliChatTests(CliServiceFixture fixture) : IDisposable
{
    private readonly CliProcess.Home _home = new();

    public void Dispose() => _home.Dispose();

    private static List<JsonElement> Events(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static IEnumerable<string> Types(IEnumerable<JsonElement> events) => events.Select(e => e.GetProperty("type").GetString()!);

    [Fact]
    public async Task Chat_TwoLinesThenEof_AnswersEachInOneSession_ExitsZero()
    {
        var first = await CliProcess.RunAsync(_home, fixture.Host.Address, ["chat", "--json", "--max-tokens", "40"], "what is a mutex\n\nexplain backpressure\n");
        var resumed = await CliProcess.RunAsync(_home, fixture.Host.Address, ["chat", "--continue", "--json", "--max-tokens", "40"], "exit\nnot sent\n");

        Assert.True(first.ExitCode == 0, first.ToString());
        var events = Events(first.Stdout);
        Assert.Equal("session", events[0].GetProperty("type").GetString());
        var session = events[0].GetProperty("session_id").GetString();
        Assert.StartsWith("cli-", session, StringComparison.Ordinal);
        Assert.Equal(2, Types(events).Count(t => t == "started"));
        Assert.Equal(2, Types(events).Count(t => t == "final"));
        Assert.Equal("final", events[^1].GetProperty("type").GetString());

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var resumedEvents = Events(resumed.Stdout);
        Assert.Equal(session, resumedEvents[0].GetProperty("session_id").GetString());
        Assert.DoesNotContain("started", Types(resumedEvents));
    }

    [Fact]
    public async Task Chat_CtrlCDuringAnswer_CancelsUpstream_StaysInRepl()
    {
        await using var cli = CliProcess.Start(_home, fixture.Host.Address, ["chat", "--json"]);
        await cli.Stdin.WriteLineAsync($"write a long report {Guid.NewGuid():N}");
        await cli.Stdin.FlushAsync();
        Assert.True(await cli.WaitForLineAsync(l => l.Contains("\"type\":\"delta\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), "no delta arrived");

        var stoppedBefore = fixture.Host.Output.Count(CliProcess.IsProviderStopped);
        cli.Interrupt();
        Assert.True(await cli.WaitForLineAsync(l => l.Contains("\"type\":\"cancelled\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), "the answer was not cancelled");
        Assert.True(
            await CliProcess.WaitUntilAsync(() => fixture.Host.Output.Count(CliProcess.IsProviderStopped) > stoppedBefore, TimeSpan.FromSeconds(5)),
            "the simulated provider did not stop generating after Ctrl-C in chat");

        await cli.Stdin.WriteLineAsync("one more question");
        cli.Stdin.Close();
        var result = await cli.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        var types = Types(Events(result.Stdout)).ToList();
        Assert.Equal(["session", "started"], types.Take(2));
        Assert.Equal(1, types.Count(t => t == "cancelled"));
        Assert.Equal(1, types.Count(t => t == "final"));
        Assert.Equal("final", types[^1]);
    }
}
