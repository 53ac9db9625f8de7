using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Hosting;

namespace MonkeyCoder.Tests.Hosting;

public sealed class ShutdownDrainTests
{
    private sealed class RecordingDrain(string name, Func<CancellationToken, Task>? body = null) : IShutdownDrain
    {
        public string Name => name;

        public int Calls { get; private set; }

        public async Task DrainAsync(CancellationToken cancellationToken)
        {
            Calls++;
            if (body is not null)
            {
                await body(cancellationToken);
            }
        }
    }

    private static ShutdownDrainService Service(params IShutdownDrain[] drains) =>
        new(drains, NullLogger<ShutdownDrainService>.Instance);

    [Fact]
    public async Task StopAsync_SeveralHooks_RunsEachOnce()
    {
        var a = new RecordingDrain("a");
        var b = new RecordingDrain("b");
        await Service(a, b).StopAsync(CancellationToken.None);
        Assert.Equal(1, a.Calls);
        Assert.Equal(1, b.Calls);
    }

    [Fact]
    public async Task StopAsync_OneHookThrows_OthersStillRunAndStopSucceeds()
    {
        var failing = new RecordingDrain("failing", _ => throw new InvalidOperationException("boom"));
        var ok = new RecordingDrain("ok");
        await Service(failing, ok).StopAsync(CancellationToken.None);
        Assert.Equal(1, failing.Calls);
        Assert.Equal(1, ok.Calls);
    }

    [Fact]
    public async Task StopAsync_HookOutlivesDrainPeriod_ReturnsWhenTokenFires()
    {
        var released = new TaskCompletionSource();
        var slow = new RecordingDrain("slow", async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            released.SetResult();
        });
        var fast = new RecordingDrain("fast");
        using var cts = new CancellationTokenSource();
        var stop = Service(slow, fast).StopAsync(cts.Token);
        Assert.False(stop.IsCompleted);
        await cts.CancelAsync();
        await stop.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, fast.Calls);
        Assert.False(released.Task.IsCompleted);
    }

    [Fact]
    public async Task StopAsync_HooksRunConcurrently()
    {
        var first = new TaskCompletionSource();
        var second = new TaskCompletionSource();
        // Each waits for the other: only concurrent execution completes.
        var a = new RecordingDrain("a", async _ => { first.SetResult(); await second.Task; });
        var b = new RecordingDrain("b", async _ => { second.SetResult(); await first.Task; });
        await Service(a, b).StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void AddShutdownDrain_RegistersHookAndOneRunner()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddMonkeyCoderShutdown();
        services.AddShutdownDrain<SampleDrain>();
        services.AddMonkeyCoderShutdown();
        using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetServices<IHostedService>().OfType<ShutdownDrainService>());
        var hook = Assert.Single(provider.GetServices<IShutdownDrain>());
        Assert.Same(provider.GetRequiredService<SampleDrain>(), hook);
    }

    private sealed class SampleDrain : IShutdownDrain
    {
        public string Name => "sample";

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
