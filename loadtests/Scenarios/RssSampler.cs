using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Hosts;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>Samples a host's RSS once a second during a phase; keeps the peak.</summary>
public sealed class RssSampler(HostProcess? host)
{
    private double _peak;
    private double _last;
    private double _hwm;

    public void Sample()
    {
        if (host?.Memory() is { } m)
        {
            _last = m.RssMb;
            _peak = Math.Max(_peak, m.RssMb);
            _hwm = m.PeakRssMb;
        }
    }

    public void Into(PhaseResult result)
    {
        Sample();
        if (host is null)
        {
            return;
        }

        result.Values["host_rss_peak_mb"] = _peak;
        result.Values["host_rss_end_mb"] = _last;
        result.Values["host_vmhwm_mb"] = _hwm;
    }
}
