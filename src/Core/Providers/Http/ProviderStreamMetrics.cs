using System.Diagnostics.Metrics;

namespace MonkeyCoder.Core.Providers.Http;

/// <summary>
/// Stream-parsing counters of the provider clients, on the <c>MonkeyCoder</c> meter (exported with the
/// rest at <c>/metrics</c>). Static because the clients are built per provider outside DI; tags are
/// the bounded provider and model names.
/// </summary>
internal static class ProviderStreamMetrics
{
    private static readonly Meter Meter = new(Observability.MonkeyCoderMetrics.MeterName);

    private static readonly Counter<long> BadEvents = Meter.CreateCounter<long>("monkeycoder.provider.stream_bad_events",
        description: "Unparseable provider stream events skipped (or, K in a row, ending the attempt).");

    public static void BadEvent(string provider, string model) =>
        BadEvents.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("model", model));
}
