using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>`monkey` task commands, run as a process against the real Service.</summary>
[Collection(CliCollection.Name)]
public sealed class CliTaskTests(CliServiceFixture fixture) : IDisposable
{
    private readonly CliProcess.Home _home = new();

    public void Dispose() => _home.Dispose();

    private Task<CliResult> Monkey(params string[] args) => CliProcess.RunAsync(_home, fixture.Host.Address, args);

    private static List<JsonElement> JsonLines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public async Task Help_Root_ListsEveryCommand()
    {
        var result = await Monkey("--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var command in new[] { "implement", "analyze", "build", "test", "review", "docs", "debug", "refactor", "chat", "route", "models", "providers", "health", "auth", "keys", "usage", "sessions", "config" })
        {
            Assert.Matches($"(?m)^\\s+{command}\\b", result.Stdout);
        }
    }

    [Fact]
    public async Task Implement_Fizzbuzz_StreamsAnswerAndSummary_ExitsZero()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = await Monkey("implement", "fizzbuzz in python", "--max-tokens", "150");
        Report.Write("cli-implement-150-tokens-wall-ms", watch.Elapsed.TotalMilliseconds);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("```python", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("fizzbuzz", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\[simulated/sim-\w+ · \d+ in \+ \d+ out tokens", result.Stderr);
        Assert.DoesNotContain("\u001b[", result.Stdout, StringComparison.Ordinal); // no spinner or colour into a pipe
    }

    [Fact]
    public async Task Implement_ModelPinned_ThatModelAnswers_UnknownOneRefused()
    {
        foreach (var model in new[] { "sim-pro", "simulated/sim-fast" })
        {
            var result = await Monkey("implement", "fizzbuzz in python", "--max-tokens", "40", "--model", model, "--fallback", "sim-pro");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains($"[simulated/{model.Replace("simulated/", "", StringComparison.Ordinal)} ·", result.Stderr, StringComparison.Ordinal);
        }

        var unknown = await Monkey("implement", "fizzbuzz in python", "--max-tokens", "40", "--model", "no-such-model-9");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("no-such-model-9", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implement_Json_EventsParseInOrder_AndMatchPlainOutput()
    {
        var json = await Monkey("implement", "parse a csv file in go", "--max-tokens", "200", "--json");
        var plain = await Monkey("implement", "parse a csv file in go", "--max-tokens", "200");

        Assert.True(json.ExitCode == 0, json.ToString());
        var events = JsonLines(json.Stdout);
        Assert.Equal("started", events[0].GetProperty("type").GetString());
        Assert.Equal("simulated", events[0].GetProperty("candidates")[0].GetProperty("provider").GetString());
        Assert.Equal("final", events[^1].GetProperty("type").GetString());
        Assert.Equal("completed", events[^1].GetProperty("status").GetString());
        var deltas = events.Skip(1).SkipLast(1).ToList();
        Assert.True(deltas.Count > 1, "expected the answer in several deltas");
        Assert.All(deltas, d => Assert.Equal("delta", d.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.GetProperty("index").GetInt32()));
        var text = string.Concat(deltas.Select(d => d.GetProperty("text").GetString()));
        Assert.True(events[^1].GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);

        // The plain run prints exactly the deltas, in order, then a newline; the summary goes to stderr.
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Equal(text.TrimEnd('\n'), plain.Stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task NoStream_OutputFile_ExtractCode_WritesOnlyTheCode()
    {
        var whole = Path.Combine(_home.Root, "out", "answer.md");
        var code = Path.Combine(_home.Root, "out", "fizzbuzz.py");

        var unary = await Monkey("implement", "fizzbuzz in python", "--max-tokens", "300", "--no-stream", "-o", whole);
        var extracted = await Monkey("implement", "fizzbuzz in python", "--max-tokens", "300", "--no-stream", "-o", code, "--extract-code");

        Assert.True(unary.ExitCode == 0, unary.ToString());
        Assert.True(extracted.ExitCode == 0, extracted.ToString());
        var answer = await File.ReadAllTextAsync(whole);
        Assert.Equal(answer.TrimEnd('\n'), unary.Stdout.TrimEnd('\n'));
        var python = await File.ReadAllTextAsync(code);
        Assert.DoesNotContain("```", python, StringComparison.Ordinal);
        Assert.Contains("def ", python, StringComparison.Ordinal);
        var open = answer.IndexOf("```python\n", StringComparison.Ordinal);
        Assert.True(open >= 0, answer);
        Assert.StartsWith(answer[(open + "```python\n".Length)..].Split("```")[0], python, StringComparison.Ordinal);
        Assert.Contains("of code to " + code, extracted.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("implement", "developer")]
    [InlineData("analyze", "reviewer")]
    [InlineData("build", "architect")]
    [InlineData("test", "tester")]
    [InlineData("review", "reviewer")]
    [InlineData("docs", "technical_writer")]
    [InlineData("debug", "developer")]
    [InlineData("refactor", "developer")]
    public async Task TaskCommand_HappyPath_CompletesWithItsPersona(string command, string persona)
    {
        var file = Path.Combine(_home.Root, "app.py");
        await File.WriteAllTextAsync(file, "def add(a, b):\n    return a - b\n");

        var run = await Monkey(command, "the add function in app.py", "--file", file, "--max-tokens", "60", "--json");
        var route = await Monkey("route", "the add function in app.py", "--task", command, "--file", file, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var events = JsonLines(run.Stdout);
        Assert.Equal("final", events[^1].GetProperty("type").GetString());
        Assert.Equal("completed", events[^1].GetProperty("status").GetString());
        Assert.True(route.ExitCode == 0, route.ToString());
        var plan = JsonLines(route.Stdout).Single();
        Assert.Equal(persona, plan.GetProperty("analysis").GetProperty("persona").GetString());
    }

    [Fact]
    public async Task Route_Table_ShowsCandidatesScoresAndReasons()
    {
        var result = await Monkey("route", "design a distributed rate limiter", "--task", "build");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("strategy single", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\| 1 \| simulated \| sim-\w+ +\| \d\.\d{3} \|", result.Stdout);
        Assert.Matches(@"\| 2 \| simulated \|", result.Stdout);
        Assert.Contains("capability", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsProvidersHealth_EmbeddedDefaults_ShowSimulated()
    {
        var models = await Monkey("models");
        var providers = await Monkey("providers", "--json");
        var health = await Monkey("health");

        Assert.True(models.ExitCode == 0, models.ToString());
        Assert.Matches(@"\| simulated +\| sim-fast +\| 128,000", models.Stdout);
        Assert.True(providers.ExitCode == 0, providers.ToString());
        var simulated = Assert.Single(JsonLines(providers.Stdout), p => p.GetProperty("name").GetString() == "simulated");
        Assert.Equal("healthy", simulated.GetProperty("health").GetString());
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.Contains("monkeycoder.v1.RouterService | SERVING", health.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implement_CtrlC_CancelsUpstreamCall_Exits130()
    {
        var prompt = $"write a long report {Guid.NewGuid():N}";
        await using var cli = CliProcess.Start(_home, fixture.Host.Address, ["implement", prompt, "--json"]);
        cli.Stdin.Close();
        Assert.True(await cli.WaitForLineAsync(l => l.Contains("\"type\":\"delta\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), "no delta arrived");

        var stoppedBefore = fixture.Host.Output.Count(CliProcess.IsProviderStopped);
        cli.Interrupt();
        var result = await cli.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.DoesNotContain("\"type\":\"final\"", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"CANCELLED\"", result.Stdout, StringComparison.Ordinal);
        Assert.True(
            await CliProcess.WaitUntilAsync(() => fixture.Host.Output.Count(CliProcess.IsProviderStopped) > stoppedBefore, TimeSpan.FromSeconds(5)),
            "the simulated provider did not stop generating after the CLI was interrupted");
    }

    [Fact]
    public async Task Implement_ServiceRejects_ExitsSixWithTheField()
    {
        var result = await Monkey("implement", "fizzbuzz", "--provider", "no-such-provider");

        Assert.True(result.ExitCode == 6, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: implement failed:", line, StringComparison.Ordinal);
        Assert.Contains("preferred_providers[0]", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalInputErrors_ExitWithDocumentedCodes()
    {
        var big = Path.Combine(_home.Root, "big.txt");
        await File.WriteAllTextAsync(big, new string('x', 1024 * 1024 + 1));
        var binary = Path.Combine(_home.Root, "blob.bin");
        await File.WriteAllBytesAsync(binary, [0xff, 0xfe, 0x00, 0x01]);

        var missing = await Monkey("implement", "x", "--file", Path.Combine(_home.Root, "nope.py"));
        var tooBig = await Monkey("implement", "x", "--file", big);
        var notText = await Monkey("implement", "x", "--file", binary);
        var badRange = await Monkey("implement", "x", "--max-tokens", "0");
        var unknown = await Monkey("frobnicate");
        var extractWithoutOutput = await Monkey("implement", "x", "--extract-code");

        Assert.True(missing.ExitCode == 6, missing.ToString());
        Assert.Contains("no such file", missing.Stderr, StringComparison.Ordinal);
        Assert.True(tooBig.ExitCode == 6, tooBig.ToString());
        Assert.Contains("1 MiB", tooBig.Stderr, StringComparison.Ordinal);
        Assert.True(notText.ExitCode == 6, notText.ToString());
        Assert.True(badRange.ExitCode == 2, badRange.ToString());
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.True(extractWithoutOutput.ExitCode == 2, extractWithoutOutput.ToString());
    }

    [Fact]
    public async Task Implement_NothingListening_ExitsFiveWithOneLine()
    {
        var dead = new Uri($"http://127.0.0.1:{HostProcess.FreePort()}");

        var result = await CliProcess.RunAsync(_home, dead, ["implement", "fizzbuzz"]);

        Assert.True(result.ExitCode == 5, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("cannot reach the Monkey Coder service at " + dead.ToString().TrimEnd('/'), line, StringComparison.Ordinal);
        Assert.Contains("--base-url", line, StringComparison.Ordinal);
    }
}
