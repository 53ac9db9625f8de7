using System.Diagnostics;
using System.Globalization;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>What a window of the chaos timeline is.</summary>
public enum WindowKind
{
    Baseline,
    Fault,
    Recovery,
}

/// <summary>One window of the timeline, in seconds since the measured load began.</summary>
public sealed record TimelineWindow(string Name, WindowKind Kind, double Start, double End)
{
    public bool Contains(double at) => at >= Start && at < End;
}

/// <summary>
/// The chaos soak's fixed timeline: windows one after another (baseline, then each fault followed
/// by its recovery window), every transition and fault action logged with its time as it happens.
/// </summary>
public sealed class ChaosTimeline(TextWriter log)
{
    private readonly List<TimelineWindow> _windows = [];
    private readonly List<string> _events = [];
    private readonly Lock _gate = new();
    private long _start;

    public void Start() => _start = Stopwatch.GetTimestamp();

    public double Now => _start == 0 ? 0 : Stopwatch.GetElapsedTime(_start).TotalSeconds;

    public long StartTimestamp => _start;

    public IReadOnlyList<TimelineWindow> Windows
    {
        get
        {
            lock (_gate)
            {
                return [.. _windows];
            }
        }
    }

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public void Log(string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"t={Now,6:0.0} s  {message}");
        lock (_gate)
        {
            _events.Add(line);
        }

        log.WriteLine("  " + line);
    }

    /// <summary>Runs <paramref name="body"/> as one window; the window ends when the body does.</summary>
    public async Task WindowAsync(string name, WindowKind kind, Func<Task> body)
    {
        var start = Now;
        Log($"{kind.ToString().ToLowerInvariant()} '{name}' begins");
        try
        {
            await body();
        }
        finally
        {
            var end = Now;
            lock (_gate)
            {
                _windows.Add(new TimelineWindow(name, kind, start, end));
            }

            Log(string.Create(CultureInfo.InvariantCulture, $"{kind.ToString().ToLowerInvariant()} '{name}' ends ({end - start:0.0} s)"));
        }
    }

    /// <summary>A fault window and then its recovery window (plain load, nothing injected).</summary>
    public async Task FaultAsync(string name, Func<Task> fault, TimeSpan recovery, CancellationToken cancellationToken)
    {
        await WindowAsync(name, WindowKind.Fault, fault);
        await WindowAsync("recovery after " + name, WindowKind.Recovery, () => Task.Delay(recovery, cancellationToken));
    }

    public TimelineWindow? WindowAt(double at)
    {
        lock (_gate)
        {
            return _windows.FirstOrDefault(w => w.Contains(at)) ?? (_windows.Count > 0 && at >= _windows[^1].End ? _windows[^1] : null);
        }
    }
}
