using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Tests.Observability;

/// <summary>
/// A <see cref="MonkeyCoderMetrics"/> of its own meter factory and a <see cref="MeterListener"/>
/// that records only that factory's measurements (tests running in parallel do not mix).
/// </summary>
internal sealed class MetricsCapture : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Sample> _samples = new();

    public MetricsCapture(TimeProvider? time = null)
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = _services.GetRequiredService<IMeterFactory>();
        Metrics = new MonkeyCoderMetrics(factory, new ProviderHealthMonitor(time), time);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public MonkeyCoderMetrics Metrics { get; }

    /// <summary>Measurements so far of <paramref name="instrument"/>; observable gauges are read first.</summary>
    public IReadOnlyList<Sample> Read(string instrument)
    {
        _listener.RecordObservableInstruments();
        return _samples.Where(s => s.Instrument == instrument).ToList();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            labels[tag.Key] = tag.Value?.ToString();
        }

        _samples.Enqueue(new Sample(instrument.Name, value, labels));
    }

    public sealed record Sample(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags)
    {
        public string? this[string tag] => Tags.TryGetValue(tag, out var v) ? v : null;
    }
}
