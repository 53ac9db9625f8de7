using System.Diagnostics;

namespace MonkeyCoder.Core.Providers.Http;

/// <summary>
/// Sends the provider attempt's span as the parent in <c>traceparent</c>. HttpClient makes a child
/// activity of its own for every request when a parent exists (<c>System.Net.Http.HttpRequestOut</c>),
/// which is not exported (its URL tags could carry a key in a query string); propagating that id
/// would point the provider at a span no collector ever receives. W3C format otherwise.
/// </summary>
internal sealed class AttemptTraceContextPropagator : DistributedContextPropagator
{
    private const string HttpClientActivity = "System.Net.Http.HttpRequestOut";

    private static readonly DistributedContextPropagator W3C = CreateW3CPropagator();

    public static AttemptTraceContextPropagator Instance { get; } = new();

    public override IReadOnlyCollection<string> Fields => W3C.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) =>
        W3C.Inject(activity is { OperationName: HttpClientActivity, Parent: { } parent } ? parent : activity, carrier, setter);

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        W3C.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        W3C.ExtractBaggage(carrier, getter);
}
