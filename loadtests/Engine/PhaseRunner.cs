using System.Diagnostics;

namespace MonkeyCoder.LoadTests.Engine;

/// <summary>
/// Runs one phase: injects calls as its <see cref="LoadSimulation"/> says, times every call,
/// separates warm-up from the measured window, samples the time series once a second, and waits
/// (bounded by the drain limit) for calls still in flight at the end.
/// </summary>
public static class PhaseRunner
{
    public static async Task<PhaseResult> RunAsync(
        string scenario, string phase, string description, LoadSimulation load, LoadCall call,
        IEnumerable<Threshold> thresholds, TimeSpan drainLimit, CancellationToken cancellationToken,
        Action<PhaseRecorder>? everySecond = null)
    {
        var recorder = new PhaseRecorder();
        using var callsCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var start = Stopwatch.GetTimestamp();
        recorder.MeasureFrom = start + (long)(load.WarmUp.TotalSeconds * Stopwatch.Frequency);
        recorder.LastMeasuredEnd = recorder.MeasureFrom;

        using var samplerCts = new CancellationTokenSource();
        var sampler = SampleAsync(recorder, everySecond, samplerCts.Token);

        var calls = new List<Task>();
        try
        {
            switch (load)
            {
                case KeepConcurrent closed:
                    calls.AddRange(Enumerable.Range(0, closed.Copies).Select(i => ClosedWorkerAsync(recorder, closed, i, start, call, callsCts.Token)));
                    break;
                case InjectPerSecond open:
                    await InjectAsync(recorder, open.Rate, open.WarmUp + open.During, open.MaxInFlight, start, call, calls, callsCts.Token);
                    break;
                case Burst burst:
                    await InjectAsync(recorder, burst.Count / Math.Max(burst.RampUp.TotalSeconds, 0.001), burst.RampUp, int.MaxValue, start, call, calls, callsCts.Token, burst.Count);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(load), load, "unknown load simulation");
            }

            var all = Task.WhenAll(calls);
            var bound = Duration(load) + drainLimit;
            var finished = await Task.WhenAny(all, Task.Delay(bound - Stopwatch.GetElapsedTime(start) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken));
            if (finished != all)
            {
                // Calls still running past the bound are cancelled; each ends as an error.
                await callsCts.CancelAsync();
                await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10), CancellationToken.None));
            }
        }
        finally
        {
            await samplerCts.CancelAsync();
            await sampler;
        }

        var measuredSeconds = Math.Max(0.001, (recorder.LastMeasuredEnd - recorder.MeasureFrom) / (double)Stopwatch.Frequency);
        recorder.SampleAll(measuredSeconds);
        everySecond?.Invoke(recorder);
        var result = new PhaseResult
        {
            Scenario = scenario,
            Phase = phase,
            Description = description,
            Load = load.Describe(),
            Ok = recorder.Ok,
            Failed = recorder.Failed,
            WarmUpCalls = recorder.WarmUpCalls,
            WarmUpFailed = recorder.WarmUpFailed,
            DurationSeconds = Math.Round(measuredSeconds, 3),
            Throughput = Math.Round(recorder.Ok / measuredSeconds, 1),
            PeakInFlight = recorder.InFlight.Peak,
            Metrics = recorder.Metrics.ToDictionary(m => m.Key, m => m.Value.Summary()),
            Series = recorder.Metrics.ToDictionary(m => m.Key, m => m.Value.Series()),
            Statuses = recorder.Statuses.ToDictionary(),
            Counters = recorder.Counters.ToDictionary(),
            ErrorSamples = recorder.ErrorSamples.ToDictionary(),
        };
        result.Check(thresholds);
        return result;
    }

    private static TimeSpan Duration(LoadSimulation load) => load switch
    {
        KeepConcurrent c => c.WarmUp + c.During,
        InjectPerSecond o => o.WarmUp + o.During,
        Burst b => b.RampUp,
        _ => TimeSpan.Zero,
    };

    private static async Task ClosedWorkerAsync(PhaseRecorder recorder, KeepConcurrent load, int index, long start, LoadCall call, CancellationToken cancellationToken)
    {
        var offset = load.Copies <= 1 ? TimeSpan.Zero : load.RampUp * index / load.Copies;
        if (offset > TimeSpan.Zero)
        {
            await Task.Delay(offset, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        var end = start + (long)((load.WarmUp + load.During).TotalSeconds * Stopwatch.Frequency);
        while (!cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < end)
        {
            await OneCallAsync(recorder, call, Stopwatch.GetTimestamp(), cancellationToken);
        }
    }

    /// <summary>Starts calls on a fixed schedule: call i is due at start + i / rate.</summary>
    private static async Task InjectAsync(PhaseRecorder recorder, double rate, TimeSpan during, int maxInFlight, long start, LoadCall call, List<Task> calls, CancellationToken cancellationToken, int? exactCount = null)
    {
        var total = exactCount ?? (long)Math.Floor(rate * during.TotalSeconds);
        var ticksPerCall = Stopwatch.Frequency / rate;
        for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
        {
            var due = start + (long)(i * ticksPerCall);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 1000)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            if (recorder.InFlight.Value >= maxInFlight)
            {
                var context = new CallContext(recorder, due >= recorder.MeasureFrom, due);
                recorder.Complete(context, CallResult.Fail("DROPPED_CLIENT_LIMIT", $"more than {maxInFlight} calls in flight"), TimeSpan.Zero);
                continue;
            }

            calls.Add(OneCallAsync(recorder, call, due, cancellationToken));
        }
    }

    private static async Task OneCallAsync(PhaseRecorder recorder, LoadCall call, long scheduled, CancellationToken cancellationToken)
    {
        // Yield first so the injector never runs a call's synchronous part on its own schedule.
        await Task.Yield();
        var context = new CallContext(recorder, scheduled >= recorder.MeasureFrom, scheduled);
        recorder.InFlight.Increment();
        CallResult result;
        try
        {
            result = await call(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = CallResult.Fail("CANCELLED_BY_RUNNER", "the phase ran past its time bound");
        }
        catch (Exception ex)
        {
            result = CallResult.Fail("EXCEPTION_" + ex.GetType().Name, ex.Message);
        }
        finally
        {
            recorder.InFlight.Decrement();
        }

        recorder.Complete(context, result, Stopwatch.GetElapsedTime(scheduled));
    }

    private static async Task SampleAsync(PhaseRecorder recorder, Action<PhaseRecorder>? everySecond, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= recorder.MeasureFrom)
                {
                    recorder.SampleAll((now - recorder.MeasureFrom) / (double)Stopwatch.Frequency);
                }
                else
                {
                    // Warm-up: whatever measured calls recorded is nothing; keep the recorder empty.
                    recorder.SampleAll(0);
                }

                everySecond?.Invoke(recorder);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
