using System.Text.Json;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>sessions list|show|export|delete and usage against the real Service (embedded stores, auth off).</summary>
[Collection(CliCollection.Name)]
public sealed class CliSessionAndUsageTests(CliServiceFixture fixture) : IDisposable
{
    private readonly CliProcess.Home _home = new();

    public void Dispose() => _home.Dispose();

    private Task<CliResult> Run(params string[] args) => CliProcess.RunAsync(_home, fixture.Host.Address, args);

    [Fact]
    public async Task Sessions_ChatThenListShowExportDelete()
    {
        var marker = "tell me about mutexes " + Guid.NewGuid().ToString("N")[..8];
        var chat = await CliProcess.RunAsync(_home, fixture.Host.Address, ["chat", "--json", "--max-tokens", "30"], marker + "\n");
        Assert.True(chat.ExitCode == 0, chat.ToString());
        var session = JsonDocument.Parse(chat.StdoutLines()[0]).RootElement.GetProperty("session_id").GetString()!;

        var list = await Run("sessions", "list", "--json");
        var table = await Run("sessions", "list");
        var show = await Run("sessions", "show", session);
        var exportJson = await Run("sessions", "export", session, "--format", "json");
        var file = Path.Combine(_home.Root, "session.md");
        var exportMarkdown = await Run("sessions", "export", session, "-o", file);

        Assert.True(list.ExitCode == 0, list.ToString());
        var summary = list.StdoutLines().Select(l => JsonDocument.Parse(l).RootElement).Single(s => s.GetProperty("session_id").GetString() == session);
        Assert.Equal(2, summary.GetProperty("turn_count").GetInt32());
        Assert.Contains(session, table.Stdout, StringComparison.Ordinal);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains(marker, show.Stdout, StringComparison.Ordinal);
        Assert.Contains("── assistant", show.Stdout, StringComparison.Ordinal);
        Assert.True(exportJson.ExitCode == 0, exportJson.ToString());
        using (var exported = JsonDocument.Parse(exportJson.Stdout))
        {
            Assert.Contains(marker, exported.RootElement.GetRawText(), StringComparison.Ordinal);
        }

        Assert.True(exportMarkdown.ExitCode == 0, exportMarkdown.ToString());
        Assert.Contains(marker, await File.ReadAllTextAsync(file), StringComparison.Ordinal);

        var delete = await Run("sessions", "delete", session);
        var gone = await Run("sessions", "show", session);
        var again = await Run("sessions", "delete", session);

        Assert.True(delete.ExitCode == 0, delete.ToString());
        Assert.True(gone.ExitCode == 6, gone.ToString());
        Assert.Contains("SESSION_NOT_FOUND", gone.Stderr, StringComparison.Ordinal);
        Assert.True(again.ExitCode == 6, again.ToString());
    }

    [Fact]
    public async Task Usage_CountsTheCliRuns_ByModelAndDay_AndListsExecutions()
    {
        var before = await UsageJsonAsync();
        var runs = new[]
        {
            await Run("implement", "usage probe " + Guid.NewGuid().ToString("N")[..8], "--max-tokens", "20", "--no-stream"),
            await Run("review", "usage probe " + Guid.NewGuid().ToString("N")[..8], "--max-tokens", "20"),
        };
        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.ToString()));

        // Usage events are written off the request path; wait (bounded) until both are counted.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        JsonElement after;
        do
        {
            after = await UsageJsonAsync();
        }
        while (Executions(after) < Executions(before) + 2 && watch.Elapsed < TimeSpan.FromSeconds(20) && await Delay());

        Assert.True(Executions(after) >= Executions(before) + 2, $"usage counted {Executions(after)} executions, expected at least {Executions(before) + 2}");
        Assert.NotEmpty(after.GetProperty("by_model").EnumerateArray());
        Assert.NotEmpty(after.GetProperty("buckets").EnumerateArray());

        var byModel = await Run("usage", "--by", "model");
        var executions = await Run("usage", "--executions", "2", "--json");

        Assert.True(byModel.ExitCode == 0, byModel.ToString());
        Assert.Contains("total", byModel.Stdout, StringComparison.Ordinal);
        Assert.Contains(after.GetProperty("by_model")[0].GetProperty("key").GetString()!, byModel.Stdout, StringComparison.Ordinal);
        Assert.True(executions.ExitCode == 0, executions.ToString());
        var records = executions.StdoutLines().Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.StartsWith("exec", r.GetProperty("execution_id").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Usage_BadDays_ExitsTwo()
    {
        var result = await Run("usage", "--days", "0");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--days must be 1 to 366", result.Stderr, StringComparison.Ordinal);
    }

    private async Task<JsonElement> UsageJsonAsync()
    {
        var result = await Run("usage", "--json", "--days", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private static long Executions(JsonElement usage) => long.Parse(usage.GetProperty("totals").GetProperty("executions").GetString() ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<bool> Delay()
    {
        await Task.Delay(200);
        return true;
    }
}
