using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Fakes;
using MonkeyCoder.LoadTests.Hosts;
using MonkeyCoder.LoadTests.Reporting;
using MonkeyCoder.V1;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// Availability under faults. Two Service replicas (the AOT binary when given) and the REST host
/// share the test PostgreSQL and Redis and two fake providers (OpenAI-compatible primary,
/// Anthropic backup). An open-model mix of Execute, StreamExecute, chat (plain and SSE) and
/// GetUsage runs while faults follow one another on a fixed, logged timeline, each followed by a
/// recovery window: PostgreSQL restart, Redis restart, the primary provider failing (5xx, then
/// timeouts), one replica SIGKILLed and restarted, a rolling SIGTERM restart of every host, the
/// spill folder's disk full during a PostgreSQL outage, and a 3× burst. Measured per second and in
/// total: availability, latency per window, streams, usage events against successful calls,
/// limit overshoot, RSS, readiness after each restart, and every error line the hosts logged.
/// Needs `source scripts/services.sh start`; the disk-full fault needs root (tmpfs mount).
/// </summary>
public sealed class ChaosSoak : IScenario
{
    /// <summary>The usage writer's batch window (UsageOptions.BatchDelayMs, default 200 ms) plus one write round trip on a busy machine.</summary>
    private static readonly TimeSpan KillLossWindow = TimeSpan.FromSeconds(1);

    public string Name => "chaos-soak";

    public string Description => "Two Service replicas + the REST host on shared PostgreSQL/Redis under an open-model call mix while faults follow a fixed timeline: availability, latency per window, streams, usage events vs successful calls, limit overshoot, RSS, readiness, host error lines.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile.Chaos;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var postgres = PostgresControl.FromEnvironment();
        var redis = RedisControl.FromEnvironment();
        if (postgres is null || redis is null || context.Options.Target is not null || context.Options.RestTarget is not null)
        {
            var why = postgres is null || redis is null
                ? "needs the test PostgreSQL and Redis: `source scripts/services.sh start` first (MONKEY_TEST_* variables)"
                : "needs hosts the tool starts itself (not --target / --rest-target)";
            var missing = new PhaseResult { Scenario = Name, Phase = "timeline", Description = Description, Load = "none", Unavailable = why };
            missing.Thresholds.Add(new ThresholdResult("PostgreSQL and Redis to restart are available", 0, ">=", 1, "", !context.Options.RequireEndpoints));
            result.Phases.Add(missing);
            result.Notes.Add($"not measured: {why}{(context.Options.RequireEndpoints ? "; fails the run (--require-endpoints)" : "")}");
            return result;
        }

        var run = new Run(context, profile, postgres, redis, result);
        try
        {
            await run.ExecuteAsync(cancellationToken);
        }
        finally
        {
            await run.DisposeAsync();
        }

        return result;
    }

    /// <summary>One call as measured: when it was due and ended (seconds on the timeline), its latency from the due time, its outcome.</summary>
    private sealed record CallRecord(ChaosCallKind Kind, double Due, double Ended, double LatencyMs, ChaosOutcome Outcome, bool Measured);

    private sealed class Run(RunContext context, ChaosSoakProfile profile, PostgresControl postgres, RedisControl redis, ScenarioResult result) : IAsyncDisposable
    {
        private readonly ConcurrentQueue<CallRecord> _calls = new();
        private readonly ConcurrentQueue<(double At, bool Ok, string Status)> _limited = new();
        private readonly List<(string Host, string Restart, double Seconds, string LoadAverage)> _readiness = [];
        private readonly HashSet<HostProcess> _stoppedOnPurpose = [];
        private readonly ChaosTimeline _timeline = new(context.Log);
        private readonly string _work = Directory.CreateTempSubdirectory("monkey-chaos-soak-").FullName;
        private FakeProvider? _primary;
        private FakeProvider? _backup;
        private ChaosHost? _a;
        private ChaosHost? _b;
        private ChaosHost? _rest;
        private ChaosCalls? _client;
        private Gauge _inFlight = new();
        private volatile bool _stopLoad;
        private double _rateFactor = 1;
        private double _killAt = double.NaN;
        private string? _mounted;
        private DateTimeOffset _timelineStartUtc;
        private DateTimeOffset _warmUpStartUtc;
        private string _spillRoot = "";
        private readonly List<(double At, string Host, double RssMb)> _rssSeries = [];

        private string SpillRoot => _spillRoot;

        public async Task ExecuteAsync(CancellationToken cancellationToken)
        {
            _primary = await FakeProvider.StartAsync(FakeProvider.OpenAiProtocol, cancellationToken);
            _backup = await FakeProvider.StartAsync(FakeProvider.AnthropicProtocol, cancellationToken);
            var environment = await EnvironmentAsync();
            _a = new ChaosHost("replica-a", (port, metrics, ct) => StartServiceAsync("replica A", environment, "a", port, metrics, ct));
            _b = new ChaosHost("replica-b", (port, metrics, ct) => StartServiceAsync("replica B", environment, "b", port, metrics, ct));
            _rest = new ChaosHost("rest", (port, metrics, ct) => StartGatewayAsync(environment, port, metrics, ct), readyOnMainPort: true);
            foreach (var host in new[] { _a, _b, _rest })
            {
                var ready = await host.StartAsync(cancellationToken);
                context.Log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  started {host.Current.Kind} pid {host.Current.Pid} on {host.Current.Address}, ready in {ready.TotalSeconds:0.0} s"));
                result.Targets.Add($"{host.Current.Kind}: {host.Current.Command}");
            }

            result.Targets.Add($"shared: PostgreSQL {postgres.DatabaseUrl}, Redis {redis.Url}; fake providers: openai {_primary.BaseUrl} (primary-model), anthropic {_backup.BaseUrl} (backup-model); usage queue capacity {profile.QueueCapacity}; spill folders under {SpillRoot}");
            _client = new ChaosCalls([_a.Current.Address, _b.Current.Address], _rest.Current.Address, LoadCredentials.Key);
            var limitedKey = await CreateLimitedKeyAsync(cancellationToken);

            // Warm-up (JIT of the REST host, connections): the same mix, not counted.
            context.Log.WriteLine($"  warm-up: {profile.WarmUp.TotalSeconds:0} s at {profile.Rate:0}/s (not counted)");
            _warmUpStartUtc = DateTimeOffset.UtcNow;
            var warmStart = Stopwatch.GetTimestamp();
            await InjectAsync(measured: false, until: () => Stopwatch.GetElapsedTime(warmStart) >= profile.WarmUp, cancellationToken);

            _timelineStartUtc = DateTimeOffset.UtcNow;
            _timeline.Start();
            using var samplerStop = new CancellationTokenSource();
            var sampler = SampleAsync(samplerStop.Token);
            var limited = LimitedKeyLoadAsync(limitedKey, cancellationToken);
            var load = InjectAsync(measured: true, until: () => _stopLoad, cancellationToken);
            try
            {
                await TimelineAsync(cancellationToken);
            }
            finally
            {
                _stopLoad = true;
                await HealAsync();
            }

            await load;
            await limited;
            await samplerStop.CancelAsync();
            await sampler;
            await AnalyseAsync(cancellationToken);
        }

        private async Task<Dictionary<string, string>> EnvironmentAsync()
        {
            var catalog = Path.Combine(_work, "catalog.json");
            // The primary is the stronger model; with the bandit off it always goes first, and its
            // catalog fallback (another provider, another wire format) takes over when it fails.
            await File.WriteAllTextAsync(catalog, $$"""
                {
                  "providers": [
                    { "name": "openai", "displayName": "OpenAI (fake)", "protocol": "openai", "baseUrl": "{{_primary!.BaseUrl}}", "apiKeyVariable": "OPENAI_API_KEY" },
                    { "name": "anthropic", "displayName": "Anthropic (fake)", "protocol": "anthropic", "baseUrl": "{{_backup!.BaseUrl}}", "apiKeyVariable": "ANTHROPIC_API_KEY" }
                  ],
                  "models": [
                    { "id": "primary-model", "provider": "openai", "contextWindow": 128000, "maxOutputTokens": 16384,
                      "inputPricePerMillion": 1, "outputPricePerMillion": 4, "typicalLatencyMs": 400,
                      "capabilities": { "codeGeneration": 0.95, "reasoning": 0.95, "reliability": 0.99 },
                      "fallbacks": ["anthropic/backup-model"] },
                    { "id": "backup-model", "provider": "anthropic", "contextWindow": 200000, "maxOutputTokens": 16384,
                      "inputPricePerMillion": 1, "outputPricePerMillion": 4, "typicalLatencyMs": 400,
                      "capabilities": { "codeGeneration": 0.5, "reasoning": 0.5, "reliability": 0.9 } }
                  ]
                }
                """);
            _spillRoot = Path.Combine(_work, "spill");
            Directory.CreateDirectory(_spillRoot);
            return new Dictionary<string, string>
            {
                ["DATABASE_URL"] = postgres.DatabaseUrl,
                ["REDIS_URL"] = redis.Url,
                ["MODEL_CATALOG_PATH"] = catalog,
                ["SIMULATED_ENABLED"] = "false",
                ["OPENAI_API_KEY"] = _primary.ApiKey,
                ["OPENAI_BASE_URL"] = _primary.BaseUrl.ToString(),
                ["ANTHROPIC_API_KEY"] = _backup.ApiKey,
                ["ANTHROPIC_BASE_URL"] = _backup.BaseUrl.ToString(),
                // A timing-out provider is given up on after 2 s and the fallback answers.
                ["EXECUTION_FIRST_TOKEN_TIMEOUT_MS"] = "2000",
                ["EXECUTION_STALL_TIMEOUT_MS"] = "2000",
                ["EXECUTION_ATTEMPT_TIMEOUT_MS"] = "5000",
                ["MonkeyCoder__Routing__BanditCandidates"] = "1",
                ["MonkeyCoder__Usage__QueueCapacity"] = profile.QueueCapacity.ToString(CultureInfo.InvariantCulture),
            };
        }

        private Task<HostProcess> StartServiceAsync(string name, Dictionary<string, string> shared, string spill, int port, int metricsPort, CancellationToken cancellationToken)
        {
            var environment = new Dictionary<string, string>(shared) { ["USAGE_SPILL_PATH"] = Path.Combine(SpillRoot, spill) };
            return context.Options.ServiceBin is { } bin
                ? HostProcess.StartAsync($"{name} (native AOT)", File.Exists(bin) ? bin : throw new FileNotFoundException($"--service-bin / MONKEY_SERVICE_BIN points at a missing file: {bin}"), [], environment, cancellationToken, port, metricsPort)
                : HostProcess.StartAsync($"{name} (JIT dll)", "dotnet", [Paths.HostDll("Service", "monkey-coder-service.dll")], environment, cancellationToken, port, metricsPort);
        }

        private Task<HostProcess> StartGatewayAsync(Dictionary<string, string> shared, int port, int metricsPort, CancellationToken cancellationToken)
        {
            var environment = new Dictionary<string, string>(shared) { ["USAGE_SPILL_PATH"] = Path.Combine(SpillRoot, "rest") };
            return HostProcess.StartAsync("REST host (JIT)", "dotnet", [context.Options.GatewayDll ?? Paths.HostDll("Gateway.Json", "monkey-coder-gateway.dll")], environment, cancellationToken, port, metricsPort);
        }

        private async Task<string> CreateLimitedKeyAsync(CancellationToken cancellationToken)
        {
            var keys = new ApiKeyService.ApiKeyServiceClient(_client!.Channel);
            var created = await keys.CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Name = "chaos-limited",
                Scopes = { "route" },
                RequestsPerMinute = profile.LimitedKeyRequestsPerMinute,
            }, ChaosCalls.Auth(LoadCredentials.Key), DateTime.UtcNow.AddSeconds(30), cancellationToken);
            return created.Secret;
        }

        /// <summary>Open model: call i is due at the schedule's time whatever earlier calls did; latency counts from the due time.</summary>
        private async Task InjectAsync(bool measured, Func<bool> until, CancellationToken cancellationToken)
        {
            var running = new List<Task>();
            var origin = measured ? _timeline.StartTimestamp : Stopwatch.GetTimestamp();
            double due = 0;
            long index = 0;
            while (!until() && !cancellationToken.IsCancellationRequested)
            {
                due += 1.0 / (profile.Rate * Volatile.Read(ref _rateFactor));
                var wait = TimeSpan.FromSeconds(due) - Stopwatch.GetElapsedTime(origin);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                }

                var kind = (index++ % 20) switch
                {
                    < 6 => ChaosCallKind.Execute,
                    < 12 => ChaosCallKind.StreamExecute,
                    < 15 => ChaosCallKind.Chat,
                    < 18 => ChaosCallKind.ChatStream,
                    _ => ChaosCallKind.GetUsage,
                };
                var marker = $"chaos-{(measured ? 1_000_000 : 0) + index}";
                var dueAt = due;
                if (_inFlight.Value >= 5_000)
                {
                    _calls.Enqueue(new CallRecord(kind, dueAt, dueAt, 0, ChaosOutcome.Fail("DROPPED_CLIENT_LIMIT", "more than 5,000 calls in flight"), measured));
                    continue;
                }

                running.Add(OneAsync(kind, marker, origin, dueAt, measured, cancellationToken));
                if (running.Count > 10_000)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }
            }

            var all = Task.WhenAll(running);
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(45), CancellationToken.None));
        }

        private async Task OneAsync(ChaosCallKind kind, string marker, long origin, double due, bool measured, CancellationToken cancellationToken)
        {
            await Task.Yield();
            _inFlight.Increment();
            ChaosOutcome outcome;
            try
            {
                outcome = await _client!.CallAsync(kind, marker, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                outcome = ChaosOutcome.Fail("CANCELLED_BY_RUNNER", "the run passed its bound");
            }
            catch (Exception ex)
            {
                outcome = ChaosOutcome.Fail("EXCEPTION_" + ex.GetType().Name, ex.Message);
            }
            finally
            {
                _inFlight.Decrement();
            }

            var ended = Stopwatch.GetElapsedTime(origin).TotalSeconds;
            _calls.Enqueue(new CallRecord(kind, due, ended, (ended - due) * 1000, outcome, measured));
        }

        /// <summary>Route with the limited key at twice its limit, over both replicas: what is admitted in any 60 s is the overshoot's measure.</summary>
        private async Task LimitedKeyLoadAsync(string key, CancellationToken cancellationToken)
        {
            var router = new RouterService.RouterServiceClient(_client!.Channel);
            var auth = ChaosCalls.Auth(key);
            var rate = profile.LimitedKeyRequestsPerMinute * 2 / 60.0;
            var running = new List<Task>();
            double due = 0;
            while (!_stopLoad && !cancellationToken.IsCancellationRequested)
            {
                due += 1 / rate;
                var wait = TimeSpan.FromSeconds(due) - Stopwatch.GetElapsedTime(_timeline.StartTimestamp);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                }

                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await router.RouteAsync(new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "plan a parser", MaxTokens = 16 }, auth, DateTime.UtcNow.AddSeconds(10), cancellationToken);
                        _limited.Enqueue((_timeline.Now, true, "OK"));
                    }
                    catch (RpcException ex)
                    {
                        _limited.Enqueue((_timeline.Now, false, ex.StatusCode.ToString()));
                    }
                }, CancellationToken.None));
            }

            await Task.WhenAny(Task.WhenAll(running), Task.Delay(TimeSpan.FromSeconds(20), CancellationToken.None));
        }

        private async Task SampleAsync(CancellationToken cancellationToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken))
                {
                    foreach (var host in new[] { _a!, _b!, _rest! })
                    {
                        host.SampleRss();
                        lock (_rssSeries)
                        {
                            _rssSeries.Add((_timeline.Now, host.Name, host.LastRssMb));
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task TimelineAsync(CancellationToken ct)
        {
            var t = _timeline;
            await t.WindowAsync("baseline", WindowKind.Baseline, () => Task.Delay(profile.Baseline, ct));

            await t.FaultAsync("postgres restart", async () =>
            {
                await postgres.StopAsync();
                t.Log("PostgreSQL stopped (pg_ctl -m fast)");
                await Task.Delay(profile.PostgresDown, ct);
                await postgres.StartAsync();
                t.Log("PostgreSQL started");
                await DependencyReadinessAsync("postgres restart", ct);
            }, profile.Recovery, ct);

            await t.FaultAsync("redis restart", async () =>
            {
                await redis.StopAsync();
                t.Log("Redis stopped (SHUTDOWN NOSAVE: every key lost)");
                await Task.Delay(profile.RedisDown, ct);
                await redis.StartAsync();
                t.Log("Redis started (empty)");
                await DependencyReadinessAsync("redis restart", ct);
            }, profile.Recovery, ct);

            await t.FaultAsync("provider 5xx/timeout", async () =>
            {
                _primary!.Mode = FakeMode.ServerError;
                t.Log("openai fake (primary) answers 503 overloaded");
                await Task.Delay(profile.ProviderFault / 2, ct);
                _primary.Mode = FakeMode.Hang;
                t.Log("openai fake (primary) accepts and never answers (timeouts)");
                await Task.Delay(profile.ProviderFault / 2, ct);
                _primary.Mode = FakeMode.Healthy;
                t.Log($"openai fake healthy again ({_primary.Faulted} requests faulted; anthropic fallback served {_backup!.Requests} in all so far)");
            }, profile.Recovery, ct);

            await t.FaultAsync("replica SIGKILL", async () =>
            {
                var victim = _a!.Current;
                _stoppedOnPurpose.Add(victim);
                _killAt = t.Now;
                victim.Signal(9);
                await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
                t.Log($"replica A (pid {victim.Pid}) SIGKILLed; restarting on the same port");
                var ready = await _a.RestartAsync(ct);
                Ready("replica-a", "after SIGKILL", ready);
            }, profile.Recovery, ct);

            await t.FaultAsync("rolling SIGTERM restart", async () =>
            {
                foreach (var host in new[] { _a!, _b! })
                {
                    var old = host.Current;
                    _stoppedOnPurpose.Add(old);
                    var watch = Stopwatch.StartNew();
                    var graceful = await host.StopAsync(15, TimeSpan.FromSeconds(30));
                    t.Log(string.Create(CultureInfo.InvariantCulture, $"{old.Kind} (pid {old.Pid}) SIGTERM: exited {(graceful ? $"with code {old.ExitCode}" : "only when killed after 30 s")} after {watch.Elapsed.TotalSeconds:0.0} s; restarting"));
                    if (!graceful || old.ExitCode != 0)
                    {
                        result.Notes.Add($"{old.Kind} did not drain cleanly on SIGTERM (exit code {old.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none: killed"})");
                    }

                    Ready(host.Name, "after SIGTERM", await host.RestartAsync(ct));
                    // minReadySeconds, as a rolling update waits before taking down the next one.
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                }

                // The REST host as a rolling update does it: the new one first, traffic moved, then the old one drained.
                var oldRest = _rest!.Current;
                Ready("rest", "new instance (surge)", await _rest.StartAsync(ct));
                _client!.Rest = _rest.Current.Address;
                t.Log($"REST traffic moved to the new REST host (pid {_rest.Current.Pid}); SIGTERM to the old one (pid {oldRest.Pid})");
                _stoppedOnPurpose.Add(oldRest);
                var drain = Stopwatch.StartNew();
                oldRest.Signal(15);
                var drained = await oldRest.WaitForExitAsync(TimeSpan.FromSeconds(30));
                t.Log(string.Create(CultureInfo.InvariantCulture, $"old REST host exited {(drained ? $"with code {oldRest.ExitCode}" : "NOT within 30 s")} after {drain.Elapsed.TotalSeconds:0.0} s"));
                if (!drained || oldRest.ExitCode != 0)
                {
                    result.Notes.Add($"the old REST host did not drain cleanly on SIGTERM (exit code {oldRest.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
                    if (!drained)
                    {
                        oldRest.Signal(9);
                    }
                }
            }, profile.Recovery, ct);

            if (Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || IsRoot())
            {
                await t.WindowAsync("spill disk full + postgres outage", WindowKind.Fault, async () =>
                {
                    await MountFullSpillAsync();
                    await postgres.StopAsync();
                    t.Log("PostgreSQL stopped with the spill disk full");
                    await Task.Delay(profile.SpillOutage, ct);
                    await ScrapeSpillFailedAsync();
                    await postgres.StartAsync();
                    t.Log("PostgreSQL started");
                    var filler = Path.Combine(_mounted!, "filler");
                    File.Delete(filler);
                    t.Log("spill disk has room again (filler removed)");
                });
                await t.WindowAsync("recovery after spill disk full + postgres outage", WindowKind.Recovery, async () =>
                {
                    await Task.Delay(profile.Recovery, ct);
                    await UnmountSpillAsync();
                });
            }
            else
            {
                t.Log("SKIPPED: spill disk full needs root to mount a tmpfs (mount -t tmpfs -o size=256k); not measured");
                result.Notes.Add("SKIPPED the spill-disk-full fault: it needs root to mount a small tmpfs over the spill folder; run the tool as root to measure it");
            }

            await t.FaultAsync("burst 3x", async () =>
            {
                Volatile.Write(ref _rateFactor, profile.BurstFactor);
                t.Log(string.Create(CultureInfo.InvariantCulture, $"rate {profile.Rate * profile.BurstFactor:0}/s"));
                await Task.Delay(profile.Burst, ct);
                Volatile.Write(ref _rateFactor, 1);
                t.Log(string.Create(CultureInfo.InvariantCulture, $"rate back to {profile.Rate:0}/s"));
            }, profile.Recovery, ct);
        }

        private static string LoadAverage()
        {
            try
            {
                return File.ReadAllText("/proc/loadavg").Split(' ')[0];
            }
            catch (IOException)
            {
                return "?";
            }
        }

        private static bool IsRoot()
        {
            try
            {
                return File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";
            }
            catch (IOException)
            {
                return false;
            }
        }

        private void Ready(string host, string restart, TimeSpan ready)
        {
            lock (_readiness)
            {
                _readiness.Add((host, restart, Math.Round(ready.TotalSeconds, 2), LoadAverage()));
            }

            _timeline.Log(string.Create(CultureInfo.InvariantCulture, $"{host} ready {ready.TotalSeconds:0.0} s {restart}"));
        }

        /// <summary>After a dependency restart: how long until every host answers /readyz 200 again.</summary>
        private async Task DependencyReadinessAsync(string restart, CancellationToken cancellationToken)
        {
            var watch = Stopwatch.StartNew();
            foreach (var host in new[] { _a!, _b!, _rest! })
            {
                try
                {
                    await host.WaitReadyAsync(host.Current, TimeSpan.FromSeconds(30), cancellationToken);
                    Ready(host.Name, "after " + restart, watch.Elapsed);
                }
                catch (TimeoutException)
                {
                    Ready(host.Name, "after " + restart + " (NOT READY within 30 s)", TimeSpan.FromSeconds(30));
                }
            }
        }

        /// <summary>The alerting signal of a refused spill: monkeycoder_queue_depth{queue="usage_spill_failed"} on each host's /metrics.</summary>
        private async Task ScrapeSpillFailedAsync()
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            double total = 0;
            var seen = new List<string>();
            foreach (var host in new[] { _a!, _b!, _rest! })
            {
                foreach (var port in new[] { host.Current.MetricsPort, host.Current.Port })
                {
                    try
                    {
                        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("monkeycoder_queue_depth{", StringComparison.Ordinal) && l.Contains("queue=\"usage_spill_failed\"", StringComparison.Ordinal));
                        if (line is not null)
                        {
                            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                            total += value;
                            seen.Add(string.Create(CultureInfo.InvariantCulture, $"{host.Name} {value:0}"));
                        }

                        break;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or FormatException)
                    {
                    }
                }
            }

            _spillFailedGauge = total;
            _timeline.Log($"monkeycoder_queue_depth{{queue=\"usage_spill_failed\"}}: {(seen.Count == 0 ? "not exported" : string.Join(", ", seen))}");
        }

        private double _spillFailedGauge = double.NaN;

        private async Task MountFullSpillAsync()
        {
            var (code, output) = await ExecAsync("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", SpillRoot);
            if (code != 0)
            {
                throw new InvalidOperationException($"mount -t tmpfs failed ({code}): {output}");
            }

            _mounted = SpillRoot;
            foreach (var host in new[] { "a", "b", "rest" })
            {
                Directory.CreateDirectory(Path.Combine(SpillRoot, host));
            }

            // Fill it: every spill write from here on meets ENOSPC.
            await using (var filler = new FileStream(Path.Combine(SpillRoot, "filler"), FileMode.Create))
            {
                var block = new byte[4096];
                try
                {
                    while (true)
                    {
                        filler.Write(block);
                        filler.Flush(flushToDisk: true);
                    }
                }
                catch (IOException)
                {
                }
            }

            _timeline.Log($"spill folder {SpillRoot} is a 256 KiB tmpfs, now full");
        }

        private async Task UnmountSpillAsync()
        {
            if (_mounted is null)
            {
                return;
            }

            // Events spilled into the tmpfs once it had room must be replayed before it goes away.
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(30) && Directory.EnumerateFiles(_mounted, "usage-*", SearchOption.AllDirectories).Any())
            {
                await Task.Delay(200);
            }

            var left = Directory.EnumerateFiles(_mounted, "usage-*", SearchOption.AllDirectories).Count();
            var (code, output) = await ExecAsync("umount", _mounted);
            if (code != 0)
            {
                (code, output) = await ExecAsync("umount", "-l", _mounted);
            }

            _timeline.Log($"spill tmpfs unmounted ({(code == 0 ? "ok" : "failed: " + output)}; {left} spill file(s) were still on it)");
            if (left > 0)
            {
                result.Notes.Add($"{left} spill file(s) were still on the tmpfs when it was unmounted after 30 s");
            }

            _mounted = null;
        }

        /// <summary>Whatever happened, leave PostgreSQL and Redis running, the providers healthy and the tmpfs gone.</summary>
        private async Task HealAsync()
        {
            Volatile.Write(ref _rateFactor, 1);
            if (_primary is not null)
            {
                _primary.Mode = FakeMode.Healthy;
            }

            try
            {
                await postgres.StartAsync();
            }
            catch (InvalidOperationException)
            {
                // Already running.
            }

            try
            {
                await redis.StartAsync();
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                context.Log.WriteLine($"  could not restart Redis: {ex.Message}");
            }

            if (_mounted is not null)
            {
                try
                {
                    File.Delete(Path.Combine(_mounted, "filler"));
                }
                catch (IOException)
                {
                }

                await UnmountSpillAsync();
            }
        }

        private static async Task<(int Code, string Output)> ExecAsync(string file, params string[] args)
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return (process.ExitCode, output.Trim());
        }

        private async Task AnalyseAsync(CancellationToken cancellationToken)
        {
            var calls = _calls.ToArray();
            var measured = calls.Where(c => c.Measured).ToList();
            var windows = _timeline.Windows;
            var inv = CultureInfo.InvariantCulture;

            // Per window: a phase of the report.
            foreach (var w in windows)
            {
                var inWindow = measured.Where(c => w.Contains(c.Due) || (w == windows[^1] && c.Due >= w.End)).ToList();
                result.Phases.Add(Phase(w, inWindow));
            }

            var total = measured.Count;
            var ok = measured.Count(c => c.Outcome.Ok);
            var availability = total == 0 ? 0 : 100.0 * ok / total;
            var outside = measured.Where(c => c.Outcome.Ok && windows.FirstOrDefault(w => w.Contains(c.Due))?.Kind != WindowKind.Fault).Select(c => c.LatencyMs).ToList();
            var p95Outside = Percentile(outside, 95);
            result.Summary["calls"] = total;
            result.Summary["calls_ok"] = ok;
            result.Summary["calls_failed"] = total - ok;
            result.Summary["availability_percent"] = Math.Round(availability, 4);
            result.Summary["calls_retried_once"] = measured.Count(c => c.Outcome.Retried);
            result.Summary["calls_ok_after_retry"] = measured.Count(c => c.Outcome.Retried && c.Outcome.Ok);
            result.Summary["calls_transparently_retried"] = measured.Count(c => c.Outcome.TransparentlyRetried);
            result.Summary["p95_outside_fault_windows_ms"] = Math.Round(p95Outside, 1);
            result.Summary["p99_outside_fault_windows_ms"] = Math.Round(Percentile(outside, 99), 1);
            var worstWindow = result.Phases.Where(ph => !ph.Phase.StartsWith("fault:", StringComparison.Ordinal) && ph.Ok > 0)
                .OrderByDescending(ph => ph.Metrics[PhaseRecorder.LatencyMetricName].P95).FirstOrDefault();
            if (worstWindow is not null)
            {
                result.Summary["p95_worst_window_outside_faults_ms"] = worstWindow.Metrics[PhaseRecorder.LatencyMetricName].P95;
                result.Notes.Add($"slowest window outside the faults: '{worstWindow.Phase}' p95 {worstWindow.Metrics[PhaseRecorder.LatencyMetricName].P95:0} ms");
            }

            var generation = measured.Where(c => c.Kind != ChaosCallKind.GetUsage).ToList();
            var usageReads = measured.Where(c => c.Kind == ChaosCallKind.GetUsage).ToList();
            result.Summary["getusage_ok"] = usageReads.Count(c => c.Outcome.Ok);
            result.Summary["getusage_stale"] = usageReads.Count(c => c.Outcome.Ok && c.Outcome.Stale);
            result.Summary["getusage_failed"] = usageReads.Count(c => !c.Outcome.Ok);
            result.Summary["availability_percent_without_getusage"] = generation.Count == 0 ? 0 : Math.Round(100.0 * generation.Count(c => c.Outcome.Ok) / generation.Count, 4);
            result.Thresholds.Add(new ThresholdResult("availability >= 99.9% over the run", Math.Round(availability, 4), ">=", 99.9, "%", availability >= 99.9));
            result.Thresholds.Add(new ThresholdResult("p95 < 2000 ms outside the fault windows", Math.Round(p95Outside, 1), "<", 2000, "ms", outside.Count > 0 && p95Outside < 2000));

            foreach (var kind in System.Enum.GetValues<ChaosCallKind>())
            {
                var of = measured.Where(c => c.Kind == kind).ToList();
                var good = of.Count(c => c.Outcome.Ok);
                result.Notes.Add(string.Create(inv, $"{kind}: {good} of {of.Count} ok ({(of.Count == 0 ? 0 : 100.0 * good / of.Count):0.###}%); failures: {string.Join(", ", of.Where(c => !c.Outcome.Ok).GroupBy(c => c.Outcome.Status).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}"))}"));
            }

            // Streams: started vs completed; no "successful" stream may differ from what the provider sent.
            var streams = measured.Where(c => c.Kind is ChaosCallKind.StreamExecute or ChaosCallKind.ChatStream).ToList();
            var truncated = measured.Count(c => c.Outcome.TruncatedSuccess);
            result.Summary["streams_scheduled"] = streams.Count;
            result.Summary["streams_started"] = streams.Count(c => c.Outcome.StreamStarted);
            result.Summary["streams_completed"] = streams.Count(c => c.Outcome.Ok);
            result.Summary["answers_ended_ok_but_not_what_provider_sent"] = truncated;
            result.Thresholds.Add(new ThresholdResult("no answer that ended successfully is truncated or altered", truncated, "<=", 0, "", truncated == 0));

            if (_timeline.Windows.Any(w => w.Name == "spill disk full + postgres outage"))
            {
                var logged = new[] { _a!, _b!, _rest! }.SelectMany(h => h.All).Sum(p => p.Errors.Count(e => e.Line.Contains("UsageQueue[2310]", StringComparison.Ordinal)));
                result.Summary["spill_full_events_held_in_memory"] = double.IsNaN(_spillFailedGauge) ? -1 : _spillFailedGauge;
                result.Summary["spill_full_logged_lines"] = logged;
                var degraded = logged > 0 && _spillFailedGauge > 0;
                result.Thresholds.Add(new ThresholdResult("a full spill disk is logged (UsageQueue[2310]) and counted (queue depth usage_spill_failed > 0), not a crash", degraded ? 1 : 0, ">=", 1, "", degraded));
            }

            await UsageAsync(calls, cancellationToken);
            Overshoot();
            Readiness();
            HostHealth();

            foreach (var host in new[] { _a!, _b!, _rest! })
            {
                result.Summary[$"rss_peak_mb_{host.Name}"] = host.PeakRssMb;
                result.Summary[$"rss_end_mb_{host.Name}"] = host.LastRssMb;
            }

            result.Notes.Add($"provider calls: openai (primary) {_primary!.Requests} ({_primary.Faulted} answered with a fault), anthropic (fallback) {_backup!.Requests}");
            result.Notes.Add("timeline: " + string.Join(" | ", _timeline.Events));

            var seconds = measured.GroupBy(c => (int)Math.Floor(c.Due)).OrderBy(g => g.Key)
                .Select(g => new SecondPoint(g.Key, g.Count(), g.Count(c => c.Outcome.Ok), Percentile([.. g.Where(c => c.Outcome.Ok).Select(c => c.LatencyMs)], 95)))
                .ToList();
            var worst = seconds.Where(s => s.Calls > 0).OrderBy(s => (double)s.Ok / s.Calls).Take(5).ToList();
            result.Notes.Add("worst seconds (success rate): " + string.Join(", ", worst.Select(s => string.Create(inv, $"t={s.Second} s {s.Ok}/{s.Calls} ({_timeline.WindowAt(s.Second)?.Name})"))));
            result.Charts[$"{Name}-timeline.svg"] = TimelineChart.Render(
                string.Create(inv, $"chaos-soak ({context.Profile.Name}): per-second success rate and p95, {profile.Rate:0} calls/s base; availability {availability:0.###}%"),
                seconds, windows);
        }

        private string Name => "chaos-soak";

        private PhaseResult Phase(TimelineWindow w, List<CallRecord> calls)
        {
            var latencies = calls.Where(c => c.Outcome.Ok).Select(c => c.LatencyMs).ToList();
            var phase = new PhaseResult
            {
                Scenario = Name,
                Phase = string.Create(CultureInfo.InvariantCulture, $"{w.Kind.ToString().ToLowerInvariant()}: {w.Name}"),
                Description = string.Create(CultureInfo.InvariantCulture, $"t = {w.Start:0.0}–{w.End:0.0} s"),
                Load = string.Create(CultureInfo.InvariantCulture, $"open model, {profile.Rate:0} calls/s base (Execute 30%, StreamExecute 30%, chat 15%, chat SSE 15%, GetUsage 10%)"),
                Ok = latencies.Count,
                Failed = calls.Count - latencies.Count,
                DurationSeconds = Math.Round(w.End - w.Start, 1),
                Throughput = Math.Round(latencies.Count / Math.Max(0.001, w.End - w.Start), 1),
                Statuses = calls.GroupBy(c => c.Outcome.Status).ToDictionary(g => g.Key, g => (long)g.Count()),
                ErrorSamples = calls.Where(c => !c.Outcome.Ok).GroupBy(c => c.Outcome.Status).ToDictionary(g => g.Key, g => g.First().Kind + ": " + (g.First().Outcome.Error ?? "")),
            };
            phase.Metrics[PhaseRecorder.LatencyMetricName] = Summary(latencies);
            phase.Values["availability_percent"] = calls.Count == 0 ? 100 : Math.Round(100.0 * latencies.Count / calls.Count, 3);
            phase.Values["retried_once"] = calls.Count(c => c.Outcome.Retried);
            return phase;
        }

        private static LatencySummary Summary(List<double> values)
        {
            if (values.Count == 0)
            {
                return new LatencySummary(0, 0, 0, 0, 0, 0, 0, 0, 0);
            }

            return new LatencySummary(values.Count, Math.Round(values.Average(), 3), R(Percentile(values, 50)), R(Percentile(values, 75)), R(Percentile(values, 90)),
                R(Percentile(values, 95)), R(Percentile(values, 99)), R(Percentile(values, 99.9)), R(values.Max()));
            static double R(double v) => Math.Round(v, 3);
        }

        /// <summary>Nearest-rank percentile.</summary>
        private static double Percentile(List<double> values, double percentile)
        {
            if (values.Count == 0)
            {
                return 0;
            }

            var sorted = values.Order().ToList();
            var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
        }

        /// <summary>
        /// Every successful call's execution must be in usage_events once the queues drained. Read
        /// straight from PostgreSQL (execution_id is its primary key); GetUsage's total is compared too.
        /// </summary>
        private async Task UsageAsync(CallRecord[] calls, CancellationToken cancellationToken)
        {
            var inv = CultureInfo.InvariantCulture;
            var successful = calls.Where(c => c.Measured && c.Outcome.Ok && c.Outcome.ExecutionId is not null).ToList();
            var claimed = calls.Where(c => c.Outcome.Ok && c.Outcome.ExecutionId is not null).Select(c => c.Outcome.ExecutionId!).ToHashSet(StringComparer.Ordinal);
            var since = _warmUpStartUtc.AddSeconds(-5).ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff", inv);
            var recorded = new Dictionary<string, int>(StringComparer.Ordinal);
            var watch = Stopwatch.StartNew();
            var missing = successful;
            while (true)
            {
                try
                {
                    recorded = (await postgres.QueryAsync($"SELECT execution_id, status FROM usage_events WHERE created_at >= '{since}+00'"))
                        .Select(l => l.Split('|'))
                        .ToDictionary(p => p[0], p => int.Parse(p[1], inv), StringComparer.Ordinal);
                    missing = [.. successful.Where(c => !recorded.ContainsKey(c.Outcome.ExecutionId!))];
                }
                catch (InvalidOperationException ex)
                {
                    context.Log.WriteLine($"  usage query: {ex.Message}");
                }

                if (missing.Count == 0 || watch.Elapsed > TimeSpan.FromSeconds(90))
                {
                    break;
                }

                await Task.Delay(1000, cancellationToken);
            }

            // Lost across the SIGKILL: calls that ended within the writer's batch window before it.
            var lostAtKill = missing.Where(c => !double.IsNaN(_killAt) && c.Ended <= _killAt + 0.5 && c.Ended >= _killAt - KillLossWindow.TotalSeconds).ToList();
            var missingElsewhere = missing.Count - lostAtKill.Count;
            var allowedAtKill = double.IsNaN(_killAt) ? 0 : successful.Count(c => c.Ended <= _killAt && c.Ended >= _killAt - KillLossWindow.TotalSeconds);
            var notCompleted = successful.Count(c => recorded.TryGetValue(c.Outcome.ExecutionId!, out var s) && s != (int)ExecutionStatus.Completed);
            var unclaimed = recorded.Count(kv => kv.Value == (int)ExecutionStatus.Completed && !claimed.Contains(kv.Key));

            long usageSucceeded = -1;
            try
            {
                var usage = new UsageService.UsageServiceClient(_client!.Channel);
                var totals = (await usage.GetUsageAsync(new GetUsageRequest { StartTime = Timestamp.FromDateTimeOffset(_warmUpStartUtc.AddSeconds(-5)) },
                    ChaosCalls.Auth(LoadCredentials.Key), DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken)).Totals;
                usageSucceeded = totals.Succeeded;
            }
            catch (RpcException ex)
            {
                result.Notes.Add($"GetUsage after settle failed: {ex.Status.StatusCode} {ex.Status.Detail}");
            }

            var completedRows = recorded.Count(kv => kv.Value == (int)ExecutionStatus.Completed);
            var duplicated = usageSucceeded < 0 ? double.NaN : usageSucceeded - completedRows;
            result.Summary["successful_executions_counted"] = successful.Count;
            result.Summary["usage_events_recorded_for_them"] = successful.Count - missing.Count;
            result.Summary["usage_missing_outside_sigkill"] = missingElsewhere;
            result.Summary["usage_lost_at_sigkill"] = lostAtKill.Count;
            result.Summary["usage_sigkill_batch_window_calls"] = allowedAtKill;
            result.Summary["usage_recorded_not_completed"] = notCompleted;
            result.Summary["usage_duplicated"] = double.IsNaN(duplicated) ? -1 : duplicated;
            result.Summary["usage_completed_without_a_successful_call"] = unclaimed;
            result.Summary["usage_settle_s"] = Math.Round(watch.Elapsed.TotalSeconds, 1);
            result.Thresholds.Add(new ThresholdResult("usage events missing (outside the SIGKILL) = 0", missingElsewhere, "<=", 0, "", missingElsewhere == 0));
            result.Thresholds.Add(new ThresholdResult("usage events duplicated (GetUsage succeeded − distinct completed rows) = 0", double.IsNaN(duplicated) ? null : duplicated, "<=", 0, "", duplicated == 0));
            result.Thresholds.Add(new ThresholdResult(string.Create(inv, $"usage events lost at the SIGKILL: only those of the last {KillLossWindow.TotalSeconds:0.#} s (batch window) before it"), lostAtKill.Count, "<=", allowedAtKill, "", lostAtKill.Count <= allowedAtKill));
            if (missing.Count > 0)
            {
                result.Notes.Add("usage missing, first: " + string.Join("; ", missing.Take(8).Select(c => string.Create(inv, $"{c.Kind} ended t={c.Ended:0.00} s ({_timeline.WindowAt(c.Due)?.Name})"))));
            }

            result.Notes.Add(string.Create(inv, $"usage: {successful.Count} successful executions, {successful.Count - missing.Count} recorded; {lostAtKill.Count} lost at the SIGKILL (t={_killAt:0.0} s; {allowedAtKill} calls ended in the {KillLossWindow.TotalSeconds:0.#} s before it); {missingElsewhere} missing elsewhere; GetUsage succeeded {usageSucceeded} vs {completedRows} completed rows; {unclaimed} completed rows no client saw succeed (cut or timed out after the answer was made). The usage journal is not made durable before the answer is sent: an event sits in memory for up to the batch window (BatchDelayMs, 200 ms) before its write."));
        }

        /// <summary>Admitted limited-key calls in any 60 s (sliding, by completion time) above the key's limit.</summary>
        private void Overshoot()
        {
            var limit = profile.LimitedKeyRequestsPerMinute;
            var all = _limited.ToArray();
            var admitted = all.Where(l => l.Ok).Select(l => l.At).Order().ToList();
            var worst = 0;
            var worstAt = 0.0;
            for (int i = 0, j = 0; i < admitted.Count; i++)
            {
                while (admitted[i] - admitted[j] > 60)
                {
                    j++;
                }

                if (i - j + 1 > worst)
                {
                    worst = i - j + 1;
                    worstAt = admitted[i];
                }
            }

            // The sliding log lives in Redis: a restart empties it, so a 60 s span across the restart may admit up to twice the limit.
            var redisFault = _timeline.Windows.FirstOrDefault(w => w.Name == "redis restart");
            var worstOutside = 0;
            for (int i = 0, j = 0; i < admitted.Count; i++)
            {
                while (admitted[i] - admitted[j] > 60)
                {
                    j++;
                }

                var spanStart = admitted[i] - 60;
                if (redisFault is null || admitted[i] < redisFault.Start || spanStart >= redisFault.End)
                {
                    worstOutside = Math.Max(worstOutside, i - j + 1);
                }
            }

            result.Summary["limit_overshoot_outside_redis_restart"] = Math.Max(0, worstOutside - limit);
            result.Summary["limit_requests_per_minute"] = limit;
            result.Summary["limit_max_admitted_in_60s"] = worst;
            result.Summary["limit_overshoot"] = Math.Max(0, worst - limit);
            result.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"limited key ({limit}/min, offered {2 * limit}/min across both replicas): {admitted.Count} admitted of {all.Length}; most admitted in any 60 s: {worst} (ending t={worstAt:0.0} s, in '{_timeline.WindowAt(worstAt)?.Name}'); statuses: {string.Join(", ", all.GroupBy(l => l.Status).Select(g => $"{g.Key} {g.Count()}"))}"));
        }

        private void Readiness()
        {
            var worst = _readiness.Count == 0 ? 0 : _readiness.Max(r => r.Seconds);
            result.Summary["readiness_worst_s"] = worst;
            result.Notes.Add("readiness (from the new process's start, or from the dependency's restart, to GET /readyz 200; machine load average then): " + string.Join(", ", _readiness.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Host} {r.Restart} {r.Seconds:0.0} s (load {r.LoadAverage})"))));
            result.Thresholds.Add(new ThresholdResult("every host ready within 10 s of each restart", worst, "<=", 10, " s", _readiness.Count > 0 && worst <= 10));
        }

        /// <summary>
        /// Error lines each fault may cause (in its window or its recovery window): readiness turning
        /// unhealthy while a dependency is away, and the spill failure the full disk must log.
        /// Anything else, anywhere, fails the run.
        /// </summary>
        private static readonly Dictionary<string, string[]> ExpectedErrors = new()
        {
            ["postgres restart"] = ["HealthChecks.DefaultHealthCheckService[103]"],
            ["redis restart"] = ["HealthChecks.DefaultHealthCheckService[103]"],
            ["spill disk full + postgres outage"] = ["HealthChecks.DefaultHealthCheckService[103]", "MonkeyCoder.Core.Usage.UsageQueue[2310]"],
        };

        /// <summary>Every error line of every host process (the killed ones too); only a fault's expected lines, in its window or its recovery, pass.</summary>
        private void HostHealth()
        {
            var windows = _timeline.Windows;
            var expected = new List<(string Fault, HostErrorLine Line)>();
            var unexpected = new List<(string Host, HostErrorLine Line)>();
            foreach (var host in new[] { _a!, _b!, _rest! })
            {
                foreach (var process in host.All)
                {
                    foreach (var line in process.Errors)
                    {
                        var at = (line.At - _timelineStartUtc).TotalSeconds;
                        var fault = FaultOf(windows, at);
                        if (fault is not null && ExpectedErrors.TryGetValue(fault, out var allowed) && allowed.Any(a => line.Line.Contains(a, StringComparison.Ordinal)))
                        {
                            expected.Add((fault, line));
                        }
                        else
                        {
                            unexpected.Add((process.Kind, line));
                        }
                    }

                    if (process.HasExited && !_stoppedOnPurpose.Contains(process))
                    {
                        result.Notes.Add($"CRASH: {process.Kind} pid {process.Pid} exited on its own with code {process.ExitCode}");
                        result.Thresholds.Add(new ThresholdResult($"{process.Kind} pid {process.Pid} did not crash", 1, "<=", 0, "", false));
                    }
                }
            }

            foreach (var group in expected.GroupBy(e => e.Fault))
            {
                result.Notes.Add($"error lines during '{group.Key}' (and its recovery): {group.Count()}: {string.Join("; ", group.GroupBy(e => e.Line.Line).Select(g => $"{g.Key} ×{g.Count()} ({Trim(g.First().Line.Message)})"))}");
            }

            result.Summary["host_error_lines_in_fault_windows"] = expected.Count;
            result.Summary["host_error_lines_unexpected"] = unexpected.Count;
            result.Thresholds.Add(new ThresholdResult("hosts logged no error line outside the faults' windows", unexpected.Count, "<=", 0, " lines", unexpected.Count == 0));
            foreach (var group in unexpected.GroupBy(u => u.Line.Line).Take(8))
            {
                var first = group.First();
                result.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"UNEXPECTED error line ×{group.Count()} ({first.Host}, first at t={(first.Line.At - _timelineStartUtc).TotalSeconds:0.0} s in '{FaultOf(windows, (first.Line.At - _timelineStartUtc).TotalSeconds) ?? "no fault"}'): {first.Line.Line} {Trim(first.Line.Message)}"));
            }

            static string Trim(string? s) => s is null ? "" : s.Length > 200 ? s[..200] + "…" : s;
        }

        /// <summary>The fault whose window, or the recovery window right after it, holds <paramref name="at"/>.</summary>
        private static string? FaultOf(IReadOnlyList<TimelineWindow> windows, double at)
        {
            for (var i = 0; i < windows.Count; i++)
            {
                var w = windows[i];
                if (w.Kind != WindowKind.Fault)
                {
                    continue;
                }

                var end = i + 1 < windows.Count && windows[i + 1].Kind == WindowKind.Recovery ? windows[i + 1].End : w.End;
                if (at >= w.Start && at < end)
                {
                    return w.Name;
                }
            }

            return null;
        }

        public async ValueTask DisposeAsync()
        {
            _client?.Dispose();
            foreach (var host in new[] { _a, _b, _rest })
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }
            }

            if (_primary is not null)
            {
                await _primary.DisposeAsync();
            }

            if (_backup is not null)
            {
                await _backup.DisposeAsync();
            }

            if (_mounted is not null)
            {
                await ExecAsync("umount", "-l", _mounted);
            }

            try
            {
                Directory.Delete(_work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
