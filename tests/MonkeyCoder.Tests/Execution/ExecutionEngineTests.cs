using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

public sealed class ExecutionEngineTests
{
    /// <summary>A scripted provider: fails with the given classes in order, then answers.</summary>
    private sealed class ScriptedProvider(string name, params ProviderErrorClass[] failures) : IProviderClient
    {
        private int _calls;

        public string Provider => name;

        public Uri? BaseUrl => null;

        public int Calls => _calls;

        public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls) - 1;
            if (call < failures.Length)
            {
                throw new ProviderException(name, failures[call], "scripted failure");
            }

            return Task.FromResult(new ProviderResponse($"answer from {request.Model.Id}", FinishReason.Stop, new TokenUsage(10, 5), request.Model.Id));
        }

        public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls) - 1;
            await Task.Yield();
            if (call < failures.Length)
            {
                throw new ProviderException(name, failures[call], "scripted failure");
            }

            yield return ProviderStreamEvent.Content("part one, ");
            yield return ProviderStreamEvent.Content("part two");
            yield return ProviderStreamEvent.Final(FinishReason.Stop, new TokenUsage(10, 2));
        }
    }

    private static RoutePlan Plan(params CatalogModel[] models) => new()
    {
        Task = new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "x" },
        Analysis = new TaskProfile(0.1, ComplexityLevel.Trivial, ContextType.CodeGeneration, Persona.Developer, 1),
        Strategy = Strategy.Single,
        Candidates = models.Select(m => new RouteCandidate(m, 1, [], new Dictionary<string, double>())).ToList(),
    };

    private static ExecutionEngine Engine(params IProviderClient[] clients) =>
        new(new ProviderRegistry(clients), new ProviderHealthMonitor(), TestCatalog.Tokens, TimeProvider.System, NullLogger<ExecutionEngine>.Instance);

    [Fact]
    public async Task ExecuteAsync_PrimaryOverloaded_FailsOverAndRecordsAttempt()
    {
        var a = new ScriptedProvider("a", ProviderErrorClass.Overloaded);
        var b = new ScriptedProvider("b");
        var outcome = await Engine(a, b).ExecuteAsync(Plan(TestCatalog.Model("m1", "a"), TestCatalog.Model("m2", "b")), "e1", CancellationToken.None);

        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal(["overloaded", "ok"], outcome.Attempts.Select(x => x.Outcome));
        Assert.Equal(new TokenUsage(10, 5), outcome.Usage);
    }

    [Fact]
    public async Task ExecuteAsync_ContentFiltered_NoFailover()
    {
        var a = new ScriptedProvider("a", ProviderErrorClass.ContentFiltered);
        var b = new ScriptedProvider("b");
        var ex = await Assert.ThrowsAsync<ProviderException>(() =>
            Engine(a, b).ExecuteAsync(Plan(TestCatalog.Model("m1", "a"), TestCatalog.Model("m2", "b")), "e1", CancellationToken.None));
        Assert.Equal(ProviderErrorClass.ContentFiltered, ex.ErrorClass);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_ContextLengthExceeded_OnlyLargerWindowsTried()
    {
        var a = new ScriptedProvider("a", ProviderErrorClass.ContextLengthExceeded);
        var b = new ScriptedProvider("b");
        var c = new ScriptedProvider("c");
        var outcome = await Engine(a, b, c).ExecuteAsync(
            Plan(TestCatalog.Model("big", "a", window: 100_000), TestCatalog.Model("small", "b", window: 8_000), TestCatalog.Model("huge", "c", window: 1_000_000)),
            "e1", CancellationToken.None);
        Assert.Equal("huge", outcome.Model.Id);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task StreamAsync_FailureBeforeContent_FailsOverInvisibly()
    {
        var a = new ScriptedProvider("a", ProviderErrorClass.RateLimited);
        var b = new ScriptedProvider("b");
        var events = new List<ExecutionEvent>();
        await foreach (var e in Engine(a, b).StreamAsync(Plan(TestCatalog.Model("m1", "a"), TestCatalog.Model("m2", "b")), "e1", CancellationToken.None))
        {
            events.Add(e);
        }

        Assert.Equal(["part one, ", "part two"], events.Where(e => e.Delta is not null).Select(e => e.Delta));
        var done = events[^1].Completed!;
        Assert.Equal("part one, part two", done.Content);
        Assert.Equal("m2", done.Model.Id);
        Assert.Equal(["rate_limited", "ok"], done.Attempts.Select(x => x.Outcome));
    }

    [Fact]
    public async Task ExecuteAsync_AllFail_ThrowsLastClassifiedError()
    {
        var a = new ScriptedProvider("a", ProviderErrorClass.Overloaded);
        var b = new ScriptedProvider("b", ProviderErrorClass.Timeout);
        var ex = await Assert.ThrowsAsync<ProviderException>(() =>
            Engine(a, b).ExecuteAsync(Plan(TestCatalog.Model("m1", "a"), TestCatalog.Model("m2", "b")), "e1", CancellationToken.None));
        Assert.Equal(ProviderErrorClass.Timeout, ex.ErrorClass);
    }
}
