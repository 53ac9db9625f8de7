using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Execution.Strategies;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>One scripted provider behaviour for one call.</summary>
internal abstract record Step
{
    /// <summary>Fails at once (before any content).</summary>
    public sealed record Fail(ProviderErrorClass Class, TimeSpan? RetryAfter = null, string Message = "scripted failure") : Step;

    /// <summary>Answers after <paramref name="Delay"/>; streams the text in the given parts, each after <paramref name="Gap"/>.</summary>
    public sealed record Answer(string[] Parts, TimeSpan Delay = default, TimeSpan Gap = default, FinishReason Finish = FinishReason.Stop) : Step
    {
        public string Joined => string.Concat(Parts);
    }

    /// <summary>The client's own timeout fires (an OperationCanceledException nobody asked for).</summary>
    public sealed record ClientTimeout : Step;

    /// <summary>Never answers (waits until cancelled).</summary>
    public sealed record Hang : Step;

    /// <summary>Streams these parts, then fails (stream cut, malformed…) or hangs (stall) instead of finishing.</summary>
    public sealed record BreakAfter(string[] Parts, ProviderErrorClass? Class) : Step;

    public static Answer Text(string text, TimeSpan delay = default) => new([text], delay);
}

/// <summary>
/// A scripted <see cref="IProviderClient"/>: each call takes the next step (the last step repeats).
/// Delays run on the injected (fake) time and honour cancellation, as real clients must.
/// </summary>
internal sealed class FakeProvider(string name, TimeProvider time, params Step[] script) : IProviderClient
{
    private readonly Lock _gate = new();
    private int _calls;
    private int _cancelled;

    public string Provider => name;

    public Uri? BaseUrl => null;

    public int Calls => Volatile.Read(ref _calls);

    public int Cancelled => Volatile.Read(ref _cancelled);

    public List<DateTimeOffset> CallTimes { get; } = [];

    public List<ProviderRequest> Requests { get; } = [];

    private Step Next(ProviderRequest request)
    {
        lock (_gate)
        {
            CallTimes.Add(time.GetUtcNow());
            Requests.Add(request);
            var call = _calls++;
            return script.Length == 0 ? Step.Text($"answer from {request.Model.Id}") : script[Math.Min(call, script.Length - 1)];
        }
    }

    public async Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var step = Next(request);
        try
        {
            switch (step)
            {
                case Step.Fail f:
                    throw new ProviderException(name, f.Class, f.Message) { RetryAfter = f.RetryAfter, ProviderCode = "scripted" };
                case Step.Hang:
                    await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
                    throw new InvalidOperationException("unreachable");
                case Step.ClientTimeout:
                    throw new TaskCanceledException("client timeout");
                case Step.Answer a:
                    if (a.Delay > TimeSpan.Zero)
                    {
                        await Task.Delay(a.Delay, time, cancellationToken);
                    }

                    return new ProviderResponse(a.Joined, a.Finish, new TokenUsage(10, a.Parts.Length * 5), request.Model.Id);
                case Step.BreakAfter b:
                    throw new ProviderException(name, b.Class ?? ProviderErrorClass.Timeout, "scripted break");
                default:
                    throw new InvalidOperationException();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            throw;
        }
    }

    public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var step = Next(request);
        await Task.Yield();
        switch (step)
        {
            case Step.Fail f:
                throw new ProviderException(name, f.Class, f.Message) { RetryAfter = f.RetryAfter, ProviderCode = "scripted" };
            case Step.Hang:
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _cancelled);
                    throw;
                }

                yield break;
            case Step.ClientTimeout:
                throw new TaskCanceledException("client timeout");
            case Step.Answer a:
                if (a.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(a.Delay, time, cancellationToken);
                }

                foreach (var part in a.Parts)
                {
                    yield return ProviderStreamEvent.Content(part);
                    if (a.Gap > TimeSpan.Zero)
                    {
                        await Task.Delay(a.Gap, time, cancellationToken);
                    }
                }

                yield return ProviderStreamEvent.Final(a.Finish, new TokenUsage(10, a.Parts.Length * 5));
                break;
            case Step.BreakAfter b:
                foreach (var part in b.Parts)
                {
                    yield return ProviderStreamEvent.Content(part);
                }

                if (b.Class is { } errorClass)
                {
                    throw new ProviderException(name, errorClass, "scripted break");
                }

                await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
                break;
        }
    }
}

/// <summary>The whole execution feature wired by hand on fake time, with in-process stores.</summary>
internal sealed class Harness
{
    public Harness(FakeTimeProvider time, ExecutionOptions? execution, RoutingOptions? routing, params IProviderClient[] clients)
    {
        Time = time;
        Options = execution ?? new ExecutionOptions { RetryBaseDelayMs = 100, RetryMaxDelayMs = 1000 };
        RoutingOptions = routing ?? new RoutingOptions { RandomSeed = 42 };
        Registry = new ProviderRegistry(clients);
        var opts = Microsoft.Extensions.Options.Options.Create(Options);
        var ropts = Microsoft.Extensions.Options.Options.Create(RoutingOptions);
        BreakerStore = new InMemoryCircuitBreakerStore();
        Breaker = new CircuitBreaker(BreakerStore, Time, opts, NullLogger<CircuitBreaker>.Instance);
        Stats = new InMemoryRouterStatsStore(ropts, Time);
        Random = new BanditRandom(RoutingOptions.RandomSeed);
        Budget = new RetryBudget(opts, Time);
        var recorder = new AttemptRecorder(Health, Breaker, Stats, new RewardModel(RoutingOptions));
        Runner = new AttemptRunner(Registry, recorder, Breaker, new RetryPolicy(opts, Budget, Random), Budget, TestCatalog.Tokens, Time, opts, NullLogger<AttemptRunner>.Instance);
        var single = new SingleStrategy(Runner);
        Engine = new ExecutionEngine([single, new QuantumStrategy(Runner), new PipelineStrategy(single)], Time, NullLogger<ExecutionEngine>.Instance);
    }

    public FakeTimeProvider Time { get; }

    public ExecutionOptions Options { get; }

    public RoutingOptions RoutingOptions { get; }

    public ProviderRegistry Registry { get; }

    public ProviderHealthMonitor Health { get; } = new();

    public InMemoryCircuitBreakerStore BreakerStore { get; }

    public CircuitBreaker Breaker { get; }

    public InMemoryRouterStatsStore Stats { get; }

    public BanditRandom Random { get; }

    public RetryBudget Budget { get; }

    public AttemptRunner Runner { get; }

    public ExecutionEngine Engine { get; }

    public static RoutePlan Plan(Strategy strategy, params CatalogModel[] models) => new()
    {
        Task = new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz", ConsensusThreshold = 0.7 },
        Analysis = new TaskProfile(0.1, ComplexityLevel.Trivial, ContextType.CodeGeneration, Persona.Developer, 1),
        Strategy = strategy,
        Candidates = models.Select((m, i) => new RouteCandidate(m, 1 - i * 0.1, [], new Dictionary<string, double>())).ToList(),
        ParallelVariants = models.Length,
        PipelinePersonas = [Persona.Architect, Persona.Developer, Persona.Reviewer],
    };

    public static RoutePlan Plan(params CatalogModel[] models) => Plan(Strategy.Single, models);

    /// <summary>The scope of the last execution the engine started: its attempts, also when it failed.</summary>
    public ExecutionScope? LastScope { get; set; }

    public Task<ExecutionOutcome> ExecuteAsync(RoutePlan plan, CancellationToken cancellationToken = default) =>
        Drive(Engine.ExecuteAsync(plan, "exec_test", cancellationToken, started: s => LastScope = s));

    public Task<List<ExecutionEvent>> StreamAsync(RoutePlan plan, CancellationToken cancellationToken = default) =>
        Drive(Collect(plan, cancellationToken));

    private async Task<List<ExecutionEvent>> Collect(RoutePlan plan, CancellationToken cancellationToken)
    {
        var events = new List<ExecutionEvent>();
        await foreach (var e in Engine.StreamAsync(plan, "exec_test", cancellationToken, started: s => LastScope = s))
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>
    /// Runs <paramref name="task"/> to completion on fake time: whenever it is waiting, advances the
    /// clock by <see cref="Step"/> (at most 30 simulated minutes), so timers fire without real sleeping.
    /// </summary>
    public async Task<T> Drive<T>(Task<T> task)
    {
        var simulated = TimeSpan.Zero;
        while (!task.IsCompleted)
        {
            // Give continuations a moment to run before moving the clock.
            await Task.WhenAny(task, Task.Delay(5));
            if (task.IsCompleted)
            {
                break;
            }

            Time.Advance(StepSize);
            simulated += StepSize;
            if (simulated > TimeSpan.FromMinutes(30))
            {
                throw new TimeoutException("The task did not finish within 30 simulated minutes.");
            }
        }

        return await task;
    }

    public TimeSpan StepSize { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Builds a <see cref="Harness"/> whose fake providers share its fake clock.</summary>
internal sealed class HarnessBuilder(ExecutionOptions? options, RoutingOptions? routing = null)
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<FakeProvider> _providers = [];

    public HarnessBuilder Add(string name, Step[] script)
    {
        _providers.Add(new FakeProvider(name, _time, script));
        return this;
    }

    public Harness Build(out List<FakeProvider> providers)
    {
        providers = _providers;
        return new Harness(_time, options ?? new ExecutionOptions { RetryBaseDelayMs = 100, RetryMaxDelayMs = 1000 }, routing, [.. _providers]);
    }
}
