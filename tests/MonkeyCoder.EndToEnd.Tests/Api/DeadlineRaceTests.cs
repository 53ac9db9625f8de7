using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Api;

/// <summary>
/// Deadlines that pass while the answer is being finished: gRPC answers DEADLINE_EXCEEDED itself and
/// starts the response, and the call's own completion must then leave it alone. (It once set response
/// headers on the started response, and the host logged "Headers are read-only" as an unhandled
/// error: found as a one-off CI failure on a busy machine, reproduced by this test.)
/// </summary>
public sealed class DeadlineRaceTests : IAsyncLifetime
{
    private readonly ServiceFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public async Task DisposeAsync()
    {
        _fixture.Channel.Dispose();
        await _fixture.Host.DisposeAsync();
    }

    [Fact]
    public async Task Execute_DeadlinesAroundTheAnswersTime_EveryCallAnsweredAndNoErrorLogged()
    {
        var random = new Random(7);
        var running = new List<Task<StatusCode>>();
        var statuses = new List<StatusCode>();
        for (var i = 0; i < 400; i++)
        {
            // 30–400 ms: past the request's arrival, around the simulated answer's time.
            var deadline = DateTime.UtcNow.AddMilliseconds(random.Next(30, 400));
            var request = new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz", MaxTokens = 20 + (i % 50) };
            running.Add(CallAsync(request, deadline));
            if (running.Count >= 16)
            {
                var done = await Task.WhenAny(running);
                running.Remove(done);
                statuses.Add(await done);
            }
        }

        statuses.AddRange(await Task.WhenAll(running));
        Assert.All(statuses, s => Assert.True(s is StatusCode.OK or StatusCode.DeadlineExceeded, $"unexpected {s}"));

        // Errors raised in our code (a MonkeyCoder frame in the logged stack). gRPC logs a few of its own
        // when a caller's deadline races its internals (a reset before the request is read, a write
        // after it answered the deadline): those are not this service's to fix.
        var errors = _fixture.Host.ErrorLines.Where(e => e.Contains("at MonkeyCoder.", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n----\n", errors.Take(3)));
    }

    private async Task<StatusCode> CallAsync(ExecuteRequest request, DateTime deadline)
    {
        try
        {
            await _fixture.Router.ExecuteAsync(request, deadline: deadline);
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
