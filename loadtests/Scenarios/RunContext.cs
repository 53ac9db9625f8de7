using MonkeyCoder.LoadTests.Hosts;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>What every scenario gets: the options, and helpers to start (and stop) the hosts it targets.</summary>
public sealed class RunContext(RunOptions options, TextWriter log)
{
    public RunOptions Options { get; } = options;

    public Profile Profile => Options.Profile;

    public TextWriter Log { get; } = log;

    /// <summary>How long a phase may run past its planned duration for calls in flight to end.</summary>
    public TimeSpan DrainLimit { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Starts the gRPC Service (the AOT binary when given) with <paramref name="environment"/>; null when --target is set.</summary>
    public async Task<HostProcess?> StartServiceAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        if (Options.Target is not null)
        {
            return null;
        }

        var host = Options.ServiceBin is { } bin
            ? await HostProcess.StartAsync("service (native AOT)", File.Exists(bin) ? bin : throw new FileNotFoundException($"--service-bin / MONKEY_SERVICE_BIN points at a missing file: {bin}"), [], environment, cancellationToken)
            : await HostProcess.StartAsync("service (JIT dll)", "dotnet", [Paths.HostDll("Service", "monkey-coder-service.dll")], environment, cancellationToken);
        Log.WriteLine($"  started {host.Kind} pid {host.Pid} on {host.Address} ({Describe(environment)})");
        return host;
    }

    public async Task<HostProcess?> StartGatewayAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        if (Options.RestTarget is not null)
        {
            return null;
        }

        var dll = Options.GatewayDll ?? Paths.HostDll("Gateway.Json", "monkey-coder-gateway.dll");
        var host = await HostProcess.StartAsync("gateway (REST, JIT)", "dotnet", [dll], environment, cancellationToken);
        Log.WriteLine($"  started {host.Kind} pid {host.Pid} on {host.Address} ({Describe(environment)})");
        return host;
    }

    public async Task<HostProcess> StartEchoAsync(CancellationToken cancellationToken)
    {
        var host = await HostProcess.StartAsync("echo server (bare gRPC)", "dotnet", [Paths.SelfDll, "echo-server"], new Dictionary<string, string>(), cancellationToken);
        Log.WriteLine($"  started {host.Kind} pid {host.Pid} on {host.Address}");
        return host;
    }

    public Uri ServiceAddress(HostProcess? host) => host?.Address ?? Options.Target!;

    public Uri RestAddress(HostProcess? host) => host?.Address ?? Options.RestTarget!;

    public static string Describe(IReadOnlyDictionary<string, string> environment) =>
        environment.Count == 0 ? "embedded defaults" : string.Join(", ", environment.Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>
    /// Error lines the host logged: a host that logs errors under load fails its scenario. Lines
    /// the scenario provokes on purpose (<paramref name="expected"/>) are counted in a note instead.
    /// </summary>
    public static void CollectHostErrors(HostProcess? host, ScenarioResult result, Func<string, bool>? expected = null)
    {
        if (host is null)
        {
            return;
        }

        var errors = host.ErrorLines.Where(l => expected is null || !expected(l)).ToList();
        if (expected is not null && host.ErrorLines.Count > errors.Count)
        {
            result.Notes.Add($"{host.Kind} logged {host.ErrorLines.Count - errors.Count} expected error line(s) for what the scenario provoked");
        }

        result.Thresholds.Add(new Engine.ThresholdResult($"{host.Kind} logged no errors", errors.Count, "<=", 0, " lines", errors.Count == 0));
        if (errors.Count > 0)
        {
            result.Notes.Add($"{host.Kind} logged {errors.Count} error line(s); first: {errors[0]}");
        }
    }
}
