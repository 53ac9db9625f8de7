using System.Diagnostics;
using MonkeyCoder.LoadTests.Hosts;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// One host slot of the chaos soak (a Service replica or the REST host): the process running now,
/// every process it ever ran (their logs are all checked), how to start it again on the same
/// ports, its readiness (GET /readyz on its metrics port) and its RSS.
/// </summary>
/// <param name="name">The slot's name in the report ("replica-a").</param>
/// <param name="start">Starts a process on (port, metrics port); 0 = free ones.</param>
/// <param name="readyOnMainPort">The REST host serves /readyz on its main port (the Service on its metrics port).</param>
public sealed class ChaosHost(string name, Func<int, int, CancellationToken, Task<HostProcess>> start, bool readyOnMainPort = false) : IAsyncDisposable
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly List<HostProcess> _all = [];
    private readonly Lock _gate = new();
    private double _peakRss;

    public string Name { get; } = name;

    public HostProcess Current { get; private set; } = null!;

    public IReadOnlyList<HostProcess> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _all];
            }
        }
    }

    public double PeakRssMb => _peakRss;

    public double LastRssMb { get; private set; }

    /// <summary>Starts a process (on <paramref name="port"/>, 0 = a free one) and returns how long it took to be ready.</summary>
    public async Task<TimeSpan> StartAsync(CancellationToken cancellationToken, int port = 0, int metricsPort = 0)
    {
        var watch = Stopwatch.StartNew();
        var process = await start(port, metricsPort, cancellationToken);
        lock (_gate)
        {
            _all.Add(process);
        }

        Current = process;
        await WaitReadyAsync(process, TimeSpan.FromSeconds(60), cancellationToken);
        return watch.Elapsed;
    }

    /// <summary>Stops the current process with <paramref name="signal"/> and waits (bounded) for it to exit.</summary>
    public async Task<bool> StopAsync(int signal, TimeSpan timeout)
    {
        var process = Current;
        process.Signal(signal);
        if (await process.WaitForExitAsync(timeout))
        {
            return true;
        }

        process.Signal(9);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(5));
        return false;
    }

    /// <summary>The restarted process listens where the old one did: clients reconnect to the same address.</summary>
    public Task<TimeSpan> RestartAsync(CancellationToken cancellationToken) => StartAsync(cancellationToken, Current.Port, Current.MetricsPort);

    public async Task<bool> IsReadyAsync(HostProcess process, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri($"http://127.0.0.1:{(readyOnMainPort ? process.Port : process.MetricsPort)}/readyz"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async Task WaitReadyAsync(HostProcess process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (!await IsReadyAsync(process, cancellationToken))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Kind} exited with code {process.ExitCode} before it was ready");
            }

            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"{process.Kind} was not ready (GET /readyz) within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public void SampleRss()
    {
        if (Current?.Memory() is { } m)
        {
            LastRssMb = m.RssMb;
            _peakRss = Math.Max(_peakRss, m.RssMb);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in All)
        {
            await process.DisposeAsync();
        }
    }
}
