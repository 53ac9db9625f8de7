using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>
/// SIGTERM as an orchestrator sends it: in-flight streams finish within DRAIN_SECONDS, new calls are
/// refused, drain hooks run after the requests, and the process exits 0. Each test owns its process.
/// </summary>
public sealed class ShutdownTests
{
    private const int DrainSeconds = 20;

    // 40 tokens/s and 120 tokens: a stream of about 3 s, long enough to signal in the middle of it.
    private static Dictionary<string, string> SlowStream(int drainSeconds) => new()
    {
        ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "50",
        ["SIMULATED_TOKENS_PER_SECOND"] = "40",
        ["DRAIN_SECONDS"] = drainSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
        ["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true",
    };

    private static ExecuteRequest LongTask(int maxTokens) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = "write a long fizzbuzz in python with tests", MaxTokens = maxTokens };

    [Fact]
    public async Task StreamExecute_SigtermMidStream_FinishesWithFinalEventAndExitsZero()
    {
        await using var host = await HostProcess.StartServiceAsync(SlowStream(DrainSeconds));
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);
        using var call = router.StreamExecute(LongTask(120), deadline: DateTime.UtcNow.AddSeconds(60));

        var events = new List<StreamExecuteResponse>();
        while (events.Count < 2 && await call.ResponseStream.MoveNext())
        {
            events.Add(call.ResponseStream.Current);
        }

        Assert.Equal(StreamExecuteResponse.EventOneofCase.Delta, events[^1].EventCase);
        var signalled = Stopwatch.StartNew();
        var signalledAt = DateTime.UtcNow;
        host.Signal(15);

        // New work is refused while the stream drains: the listener is closed to new connections.
        await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var fresh = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
            await WaitUntilRefusedAsync(new RouterService.RouterServiceClient(fresh));
        });

        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            events.Add(item);
        }

        var streamTime = signalled.Elapsed;
        Assert.Equal(StreamExecuteResponse.EventOneofCase.Final, events[^1].EventCase);
        var deltas = events.Where(e => e.EventCase == StreamExecuteResponse.EventOneofCase.Delta).ToList();
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Delta.Index));
        Assert.Equal(120, events[^1].Final.Usage.OutputTokens);
        Assert.True(streamTime > TimeSpan.FromSeconds(1), $"the stream should have outlived SIGTERM by its remaining ~2 s, ended after {streamTime}");

        var exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(DrainSeconds + 5));
        Assert.Equal(0, exitCode);
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(DrainSeconds), $"exit took {signalled.Elapsed}, drain period {DrainSeconds} s");
        Report.Write("shutdown-sigterm-to-exit-with-open-stream-ms", signalled.Elapsed.TotalMilliseconds);

        // Drain hooks run after the last request finished (about 2 s after the signal), never at the signal.
        var output = host.Output.ToList();
        var drainLine = output.Find(l => l.Contains("[1050]", StringComparison.Ordinal));
        Assert.True(drainLine is not null, "no shutdown drain log:\n" + string.Join('\n', output));
        var drainAt = DateTime.SpecifyKind(DateTime.UtcNow.Date + TimeSpan.ParseExact(drainLine[..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);
        Assert.True(drainAt - signalledAt > streamTime - TimeSpan.FromMilliseconds(500), $"drain hooks ran {drainAt - signalledAt} after SIGTERM, the stream ended {streamTime} after it");
        Assert.Contains(output, l => l.Contains("[1051]", StringComparison.Ordinal));
        Assert.DoesNotContain(output, l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StreamExecute_StreamLongerThanDrainPeriod_EndsUnavailableRetryableWithoutFinalAndProcessExitsInTime()
    {
        // 4 s: the bound is reached 1 s before the host cuts connections, time enough on a busy machine.
        await using var host = await HostProcess.StartServiceAsync(SlowStream(drainSeconds: 4));
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);

        // About 25 s of stream against a 4 s drain period.
        using var call = router.StreamExecute(LongTask(1000), deadline: DateTime.UtcNow.AddSeconds(60));
        Assert.True(await call.ResponseStream.MoveNext());
        var signalled = Stopwatch.StartNew();
        host.Signal(15);

        var events = new List<StreamExecuteResponse>();
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in call.ResponseStream.ReadAllAsync())
            {
                events.Add(item);
            }
        });

        // Cut off at the drain bound: a retryable status (UNAVAILABLE, SHUTTING_DOWN, RetryInfo),
        // never a truncated answer presented as complete.
        Assert.DoesNotContain(events, e => e.EventCase == StreamExecuteResponse.EventOneofCase.Final);
        Assert.True(ended.StatusCode == StatusCode.Unavailable, ended.ToString());
        Assert.True(ended.GetRpcStatus() is not null, ended.Status.Detail + "\n" + string.Join('\n', host.Output));
        Assert.Equal("SHUTTING_DOWN", ended.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
        Assert.NotNull(ended.GetRpcStatus()!.GetDetail<Google.Rpc.RetryInfo>());
        var exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.NotNull(exitCode);
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(12), $"exit took {signalled.Elapsed} with a 4 s drain period");
    }

    /// <summary>Retries briefly: the listener closes a moment after the signal is delivered.</summary>
    private static async Task WaitUntilRefusedAsync(RouterService.RouterServiceClient client)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            await client.RouteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "ping" }, deadline: DateTime.UtcNow.AddSeconds(2));
            await Task.Delay(50);
        }
    }
}
