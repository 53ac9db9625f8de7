namespace MonkeyCoder.LoadTests.Engine;

/// <summary>A level that goes up and down (open streams, calls in flight) and remembers its peak.</summary>
public sealed class Gauge
{
    private long _value;
    private long _peak;

    public long Value => Interlocked.Read(ref _value);

    public long Peak => Interlocked.Read(ref _peak);

    public void Increment()
    {
        var now = Interlocked.Increment(ref _value);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }
    }

    public void Decrement() => Interlocked.Decrement(ref _value);
}
