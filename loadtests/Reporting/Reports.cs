using System.Globalization;
using System.Text;
using System.Text.Json;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Scenarios;

namespace MonkeyCoder.LoadTests.Reporting;

/// <summary>The whole run, as written to report.json.</summary>
public sealed class RunReport
{
    public required string Profile { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public double DurationSeconds { get; set; }

    public required Dictionary<string, string> Machine { get; init; }

    public required string Command { get; init; }

    public List<ScenarioResult> Scenarios { get; } = [];

    public bool Passed => Scenarios.All(s => s.Passed);
}

/// <summary>Writes report.md, report.json and one SVG per phase into the report folder.</summary>
public static class Reports
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Write(RunReport report, string folder)
    {
        Directory.CreateDirectory(folder);
        var charts = new Dictionary<PhaseResult, string>();
        foreach (var scenario in report.Scenarios)
        {
            foreach (var (file, svg) in scenario.Charts)
            {
                File.WriteAllText(Path.Combine(folder, file), svg);
            }

            foreach (var phase in scenario.Phases)
            {
                if (phase.Series.TryGetValue(PhaseRecorder.LatencyMetricName, out var points) && points.Count > 0)
                {
                    var file = Slug($"{scenario.Name}-{phase.Phase}") + ".svg";
                    File.WriteAllText(Path.Combine(folder, file), SvgChart.Render($"{scenario.Name} / {phase.Phase}: latency per second", points));
                    charts[phase] = file;
                }
            }
        }

        foreach (var (file, svg) in report.Scenarios.SelectMany(s => s.Charts))
        {
            File.WriteAllText(Path.Combine(folder, file), svg);
        }

        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, JsonOptions));
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown(report, charts));
    }

    public static string Markdown(RunReport report, IReadOnlyDictionary<PhaseResult, string> charts)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        var notMeasured = report.Scenarios.Sum(s => s.Phases.Count(p => p.Unavailable is not null));
        md.Append(inv, $"# Load test report: profile `{report.Profile}` — {(report.Passed ? "PASSED" : "FAILED")}{(notMeasured > 0 ? $" ({notMeasured} phase(s) NOT MEASURED: endpoint not available)" : "")}\n\n");
        md.Append(inv, $"- started {report.StartedAt:yyyy-MM-dd HH:mm:ss} UTC, {report.DurationSeconds:0} s\n");
        md.Append(inv, $"- command: `{report.Command}`\n");
        md.Append(inv, $"- machine: {string.Join(", ", report.Machine.Select(kv => $"{kv.Key} {kv.Value}"))}\n");
        md.Append("- latencies in ms, from HdrHistogram; warm-up excluded; open-model latency counts from the scheduled start\n\n");

        md.Append("| scenario | phase | calls | errors | error % | rps | p50 | p95 | p99 | max | verdict |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        foreach (var s in report.Scenarios)
        {
            if (s.Crashed is not null)
            {
                md.Append(inv, $"| {s.Name} | — | | | | | | | | | **COULD NOT RUN**: {Cell(s.Crashed)} |\n");
            }

            foreach (var p in s.Phases)
            {
                var l = p.Metrics.GetValueOrDefault(PhaseRecorder.LatencyMetricName);
                var verdict = p.Unavailable is not null ? $"**{p.Unavailable.ToUpperInvariant()}**" : p.Passed ? "pass" : "**FAIL**";
                if (p.Unavailable is not null)
                {
                    md.Append(inv, $"| {s.Name} | {Cell(p.Phase)} | — | — | — | — | — | — | — | — | {verdict} |\n");
                    continue;
                }

                md.Append(inv, $"| {s.Name} | {Cell(p.Phase)} | {p.Total} | {p.Failed} | {p.ErrorRatePercent:0.###} | {p.Throughput:0.#} | {l?.P50:0.##} | {l?.P95:0.##} | {l?.P99:0.##} | {l?.Max:0.##} | {verdict} |\n");
            }
        }

        foreach (var s in report.Scenarios)
        {
            md.Append(inv, $"\n## {s.Name} — {(s.Passed ? "pass" : "FAIL")}\n\n{s.Description}\n\n");
            foreach (var target in s.Targets)
            {
                md.Append(inv, $"- target: {target}\n");
            }

            if (s.Crashed is not null)
            {
                md.Append(inv, $"- **could not run**: {s.Crashed}\n");
            }

            foreach (var note in s.Notes)
            {
                md.Append(inv, $"- {note}\n");
            }

            if (s.Summary.Count > 0)
            {
                md.Append("\n| summary | value |\n|---|---:|\n");
                foreach (var (key, value) in s.Summary)
                {
                    md.Append(inv, $"| {key} | {value:0.###} |\n");
                }
            }

            Thresholds(md, s.Thresholds);
            foreach (var file in s.Charts.Keys)
            {
                md.Append(inv, $"\n![{s.Name}]({file})\n");
            }

            foreach (var p in s.Phases)
            {
                md.Append(inv, $"\n### {p.Phase}\n\n{p.Description}. Load: {p.Load}.\n\n");
                if (p.Unavailable is not null)
                {
                    md.Append(inv, $"**{p.Unavailable}** — not measured.\n");
                    Thresholds(md, p.Thresholds);
                    continue;
                }

                md.Append(inv, $"- measured {p.DurationSeconds:0.#} s: {p.Ok} ok, {p.Failed} errors ({p.ErrorRatePercent:0.###}%), {p.Throughput:0.#} ok/s, peak {p.PeakInFlight} calls in flight\n");
                md.Append(inv, $"- warm-up (excluded): {p.WarmUpCalls} calls, {p.WarmUpFailed} failed\n");
                md.Append(inv, $"- statuses: {string.Join(", ", p.Statuses.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}"))}\n");
                if (p.Counters.Count > 0)
                {
                    md.Append(inv, $"- counters: {string.Join(", ", p.Counters.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}\n");
                }

                foreach (var (status, sample) in p.ErrorSamples)
                {
                    md.Append(inv, $"- error sample `{status}`: {Cell(sample)}\n");
                }

                foreach (var (key, value) in p.Values)
                {
                    md.Append(inv, $"- {key}: {value:0.###}\n");
                }

                foreach (var note in p.Notes)
                {
                    md.Append(inv, $"- {note}\n");
                }

                md.Append("\n| metric | count | mean | p50 | p75 | p90 | p95 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
                foreach (var (name, m) in p.Metrics.OrderBy(kv => kv.Key == PhaseRecorder.LatencyMetricName ? "" : kv.Key))
                {
                    md.Append(inv, $"| {name} | {m.Count} | {m.Mean:0.###} | {m.P50:0.###} | {m.P75:0.###} | {m.P90:0.###} | {m.P95:0.###} | {m.P99:0.###} | {m.P999:0.###} | {m.Max:0.###} |\n");
                }

                Thresholds(md, p.Thresholds);
                if (charts.TryGetValue(p, out var chart))
                {
                    md.Append(inv, $"\n![{p.Phase} latency over time]({chart})\n");
                }
            }
        }

        return md.ToString();
    }

    private static void Thresholds(StringBuilder md, List<ThresholdResult> thresholds)
    {
        if (thresholds.Count == 0)
        {
            return;
        }

        md.Append("\n| threshold | actual | result |\n|---|---:|---|\n");
        foreach (var t in thresholds)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(t.Name)} | {(t.Actual is { } a ? a.ToString("0.###", CultureInfo.InvariantCulture) : "not measured")}{t.Unit} | {(t.Passed ? "pass" : "**FAIL**")} |\n");
        }
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Slug(string text) => new([.. text.Select(c => char.IsLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-')]);
}
