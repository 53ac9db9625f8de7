using System.Globalization;

namespace MonkeyCoder.LoadTests;

/// <summary>Command line of the load tool. Every flag is optional.</summary>
public sealed record RunOptions
{
    public Profile Profile { get; init; } = Profile.Smoke;

    /// <summary>Scenario names to run; empty = all.</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = [];

    /// <summary>The AOT Service binary (--service-bin, else $MONKEY_SERVICE_BIN); null = `dotnet` + the built dll.</summary>
    public string? ServiceBin { get; init; }

    public string? GatewayDll { get; init; }

    /// <summary>--target: an already running gRPC Service; nothing is started for gRPC scenarios.</summary>
    public Uri? Target { get; init; }

    /// <summary>--rest-target: an already running REST host.</summary>
    public Uri? RestTarget { get; init; }

    public string ReportDir { get; init; } = "";

    /// <summary>--require-endpoints: a missing endpoint (404) fails the run instead of being reported as unavailable.</summary>
    public bool RequireEndpoints { get; init; }

    /// <summary>--min-cache-hit-ratio: once the response cache exists, the share of hits cache-hit must reach (0–1).</summary>
    public double MinCacheHitRatio { get; init; }

    public string OpenAiModel { get; init; } = "sim-fast";

    public const string Usage = """
        MonkeyCoder.LoadTests [--profile smoke|full] [--scenario a,b] [--service-bin PATH] [--gateway-dll PATH]
                              [--target URL] [--rest-target URL] [--report-dir DIR] [--max-minutes N]
                              [--require-endpoints] [--min-cache-hit-ratio X] [--openai-model ID]
        MonkeyCoder.LoadTests echo-server --port N
        Scenarios: execute-unary, stream-concurrency, overhead, rest-openai, cache-hit, usage-outage, chaos-soak, routing-regret.
        Exit code: 0 all thresholds passed, 1 a threshold failed, 2 a scenario could not run, 64 bad arguments.
        """;

    public static RunOptions Parse(string[] args)
    {
        var options = new RunOptions { ServiceBin = NullIfEmpty(Environment.GetEnvironmentVariable("MONKEY_SERVICE_BIN")) };
        TimeSpan? maxRun = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--profile" => options with
                {
                    Profile = Value() switch
                    {
                        "smoke" => Profile.Smoke,
                        "full" => Profile.Full,
                        var p => throw new ArgumentException($"unknown profile '{p}' (smoke or full)"),
                    },
                },
                "--scenario" => options with { Scenarios = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--service-bin" => options with { ServiceBin = NullIfEmpty(Value()) },
                "--gateway-dll" => options with { GatewayDll = NullIfEmpty(Value()) },
                "--target" => options with { Target = new Uri(Value()) },
                "--rest-target" => options with { RestTarget = new Uri(Value()) },
                "--report-dir" => options with { ReportDir = Value() },
                "--require-endpoints" => options with { RequireEndpoints = true },
                "--min-cache-hit-ratio" => options with { MinCacheHitRatio = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--openai-model" => options with { OpenAiModel = Value() },
                "--max-minutes" => SetMax(options, ref maxRun, TimeSpan.FromMinutes(double.Parse(Value(), CultureInfo.InvariantCulture))),
                _ => throw new ArgumentException($"unknown argument '{args[i]}'"),
            };
        }

        if (maxRun is { } max)
        {
            options = options with { Profile = options.Profile with { MaxRunTime = max } };
        }

        return options;
    }

    private static RunOptions SetMax(RunOptions options, ref TimeSpan? maxRun, TimeSpan value)
    {
        maxRun = value;
        return options;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
