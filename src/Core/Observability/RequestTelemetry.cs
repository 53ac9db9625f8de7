using System.Collections;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// What one RPC has learned about itself so far: its request id, principal, the provider and model
/// that answered, and the time spent waiting on providers. Set by the call pipeline's telemetry step
/// (<see cref="Calls.TelemetryStep"/>) on the call's <see cref="Calls.CallContext"/>; features add to it (authentication sets
/// <see cref="PrincipalId"/>). It is also the logging scope of the call, read when a line is
/// written, so later values appear in later lines. Holds no secrets; the request's secrets and free text
/// are kept only as <see cref="SensitiveValues"/> for scrubbing and never logged.
/// </summary>
internal sealed class RequestTelemetry : IReadOnlyList<KeyValuePair<string, object?>>
{
    private long _providerTicks;

    public RequestTelemetry(string requestId, string rpc)
    {
        RequestId = requestId;
        Rpc = rpc;
    }

    /// <summary>The telemetry of the call running on this async flow, if any (kept by its <see cref="Calls.CallContext"/>).</summary>
    internal static RequestTelemetry? Current => Calls.CallContext.Current?.Telemetry;

    public string RequestId { get; }

    /// <summary>"Service/Method", e.g. "RouterService/Execute".</summary>
    public string Rpc { get; }

    /// <summary>The principal's user id (never a key or token), set by authentication (<c>Calls/CallContext.Authenticated</c>).</summary>
    public string? PrincipalId { get; set; }

    /// <summary>Provider of the latest attempt.</summary>
    public string? Provider { get; private set; }

    /// <summary>Model id (without the provider) of the latest attempt.</summary>
    public string? Model { get; private set; }

    /// <summary>
    /// Values that must never leave the process (prompt, file contents, passwords, refresh tokens and
    /// other free text: <c>Calls/RequestSecrets</c>); used by scrubbers only.
    /// </summary>
    public IReadOnlyList<string> SensitiveValues { get; set; } = [];

    /// <summary>The call's OpenTelemetry server span (null when tracing is off or the caller's trace is not sampled).</summary>
    public System.Diagnostics.Activity? Span { get; internal set; }

    /// <summary>Time spent waiting on providers, all attempts together.</summary>
    public TimeSpan ProviderTime => TimeSpan.FromTicks(Interlocked.Read(ref _providerTicks));

    public void RecordAttempt(string provider, string model, TimeSpan latency)
    {
        Provider = provider;
        Model = model;
        Interlocked.Add(ref _providerTicks, latency.Ticks);
    }

    // Logging scope view: read at the time a line is written.
    public int Count => 5;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("RequestId", RequestId),
        1 => new("Rpc", Rpc),
        2 => new("PrincipalId", PrincipalId),
        3 => new("Provider", Provider),
        4 => new("Model", Model),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() =>
        $"RequestId:{RequestId} Rpc:{Rpc} PrincipalId:{PrincipalId} Provider:{Provider} Model:{Model}";
}
