using System.Diagnostics;
using System.Globalization;
using MonkeyCoder.LoadTests;
using MonkeyCoder.LoadTests.Echo;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Hosts;
using MonkeyCoder.LoadTests.Reporting;
using MonkeyCoder.LoadTests.Scenarios;

if (args is ["echo-server", ..])
{
    await EchoServer.RunAsync(int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "50100", CultureInfo.InvariantCulture));
    return 0;
}

RunOptions options;
try
{
    options = RunOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(RunOptions.Usage);
    return 64;
}

IScenario[] all = [new ExecuteUnary(), new StreamConcurrency(), new Overhead(), new HttpOverhead(), new RestOpenAi(), new CacheHit(), new UsageOutage(), new ChaosSoak(), new RoutingRegret()];
var unknown = options.Scenarios.Except(all.Select(s => s.Name)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"unknown scenario(s): {string.Join(", ", unknown)}\n{RunOptions.Usage}");
    return 64;
}

var selected = options.Scenarios.Count == 0 ? all : [.. all.Where(s => options.Scenarios.Contains(s.Name))];
var files = FileLimit.RaiseToHard();
// Thousands of calls start at once: let the pool grow without its slow injection ramp.
ThreadPool.SetMinThreads(Math.Max(64, Environment.ProcessorCount * 16), Math.Max(64, Environment.ProcessorCount * 16));

var started = DateTimeOffset.UtcNow;
var folder = string.IsNullOrEmpty(options.ReportDir)
    ? Path.Combine(Paths.RepoRoot, "loadtests", "reports", started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + options.Profile.Name)
    : Path.GetFullPath(options.ReportDir);
var report = new RunReport
{
    Profile = options.Profile.Name,
    StartedAt = started,
    Command = "MonkeyCoder.LoadTests " + string.Join(' ', args),
    Machine = Machine(files),
};

Console.WriteLine($"load tests: profile {options.Profile.Name}, {selected.Length} scenario(s), bound {options.Profile.MaxRunTime.TotalMinutes:0.#} min, report {folder}");
Console.WriteLine($"  machine: {string.Join(", ", report.Machine.Select(kv => $"{kv.Key} {kv.Value}"))}");
using var bound = new CancellationTokenSource(options.Profile.MaxRunTime);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    bound.Cancel();
};

var watch = Stopwatch.StartNew();
var context = new RunContext(options, Console.Out);
foreach (var scenario in selected)
{
    Console.WriteLine($"\n== {scenario.Name} ({watch.Elapsed.TotalSeconds:0} s)");
    ScenarioResult result;
    try
    {
        result = await scenario.RunAsync(context, bound.Token);
    }
    catch (Exception ex)
    {
        result = new ScenarioResult { Name = scenario.Name, Description = scenario.Description, Crashed = bound.IsCancellationRequested ? $"the run passed its bound of {options.Profile.MaxRunTime.TotalMinutes:0.#} min" : $"{ex.GetType().Name}: {ex.Message}" };
    }

    report.Scenarios.Add(result);
    Print(result);
}

report.DurationSeconds = Math.Round(watch.Elapsed.TotalSeconds, 1);
Reports.Write(report, folder);
var failed = report.Scenarios.Where(s => !s.Passed).Select(s => s.Name).ToList();
var unavailable = report.Scenarios.SelectMany(s => s.Phases.Where(p => p.Unavailable is not null).Select(p => $"{s.Name}: {p.Phase}: {p.Unavailable}")).ToList();
Console.WriteLine($"\nreport: {Path.Combine(folder, "report.md")}");
foreach (var line in unavailable)
{
    Console.WriteLine($"WARNING not measured — {line}");
}

Console.WriteLine(failed.Count == 0
    ? $"load tests PASSED ({report.Scenarios.Count} scenarios, {watch.Elapsed.TotalSeconds:0} s)"
    : $"load tests FAILED: {string.Join(", ", failed)} ({watch.Elapsed.TotalSeconds:0} s)");
return report.Scenarios.Any(s => s.Crashed is not null) ? 2 : failed.Count > 0 ? 1 : 0;

static void Print(ScenarioResult result)
{
    if (result.Crashed is not null)
    {
        Console.WriteLine($"  COULD NOT RUN: {result.Crashed}");
    }

    foreach (var p in result.Phases)
    {
        if (p.Unavailable is not null)
        {
            Console.WriteLine($"  {p.Phase,-36} {p.Unavailable.ToUpperInvariant()}");
            continue;
        }

        var l = p.Metrics.GetValueOrDefault(PhaseRecorder.LatencyMetricName);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {p.Phase,-36} {p.Total,7} calls {p.Failed,5} err ({p.ErrorRatePercent:0.###}%) {p.Throughput,8:0.#}/s  p50 {l?.P50,8:0.##} p95 {l?.P95,8:0.##} p99 {l?.P99,8:0.##} ms  {(p.Passed ? "pass" : "FAIL")}"));
        foreach (var (name, m) in p.Metrics.Where(kv => kv.Key != PhaseRecorder.LatencyMetricName))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {name,-34} p50 {m.P50,8:0.##} p95 {m.P95,8:0.##} p99 {m.P99,8:0.##} ms ({m.Count})"));
        }

        foreach (var (key, value) in p.Values)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {key} = {value:0.###}"));
        }

        foreach (var (status, sample) in p.ErrorSamples.Take(3))
        {
            Console.WriteLine($"    error {status}: {sample}");
        }

        foreach (var t in p.Thresholds.Where(t => !t.Passed))
        {
            Console.WriteLine($"    THRESHOLD FAILED: {t.Name} (actual {t.Actual?.ToString("0.###", CultureInfo.InvariantCulture) ?? "not measured"}{t.Unit})");
        }
    }

    foreach (var (key, value) in result.Summary)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {key} = {value:0.###}"));
    }

    foreach (var note in result.Notes)
    {
        Console.WriteLine($"  note: {note}");
    }

    foreach (var t in result.Thresholds.Where(t => !t.Passed))
    {
        Console.WriteLine($"  THRESHOLD FAILED: {t.Name} (actual {t.Actual?.ToString("0.###", CultureInfo.InvariantCulture) ?? "not measured"}{t.Unit})");
    }
}

static Dictionary<string, string> Machine((ulong Before, ulong After)? files)
{
    var machine = new Dictionary<string, string>
    {
        ["nproc"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        [".net"] = Environment.Version.ToString(),
    };
    try
    {
        var total = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        machine["memory"] = $"{double.Parse(total.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], CultureInfo.InvariantCulture) / 1024 / 1024:0.#} GiB";
        machine["loadavg"] = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        machine["cpu"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
    }
    catch (IOException)
    {
    }

    if (files is { } f)
    {
        machine["ulimit -n"] = f.Before == f.After ? $"{f.After}" : $"{f.Before} → {f.After}";
    }

    return machine;
}
