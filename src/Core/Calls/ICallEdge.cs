using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// What the <see cref="CallPipeline"/> needs from the adapter a call came in on (the gRPC interceptor,
/// the OpenAI endpoint filter). An adapter implements this once; the steps never look at the transport.
/// </summary>
internal interface ICallEdge
{
    /// <summary>The HTTP exchange under the call (gRPC runs on ASP.NET Core too); null in hosts without one.</summary>
    HttpContext? Http { get; }

    /// <summary>A request header (gRPC metadata or HTTP header) by lower-case name, or null.</summary>
    string? Header(string name);

    /// <summary>Whether the call's writes can be gated, so the drain step may end it at the drain bound.</summary>
    bool CanDrain { get; }

    /// <summary>
    /// Maps the request for admission: sets <see cref="CallContext.Task"/> (and <see cref="CallContext.Input"/>,
    /// <see cref="CallContext.Charge"/> when the edge brings its own), the telemetry's sensitive values; throws
    /// the edge's refusal of a body it cannot read. Runs after authentication, before admission.
    /// </summary>
    ValueTask BindAsync(CallContext call);

    /// <summary>Adds a response trailer (gRPC); edges without trailers ignore it.</summary>
    void AddTrailer(string name, string value);

    /// <summary>The call answered: the edge adds the overhead to its response (header or trailer).</summary>
    void Answered(CallContext call, TimeSpan overhead);

    /// <summary>
    /// The call failed with <paramref name="status"/> (already mapped by the error step). Returns true
    /// when the edge wrote the failure as its own answer (HTTP edges), false to let it propagate (gRPC).
    /// </summary>
    ValueTask<bool> RenderAsync(CallContext call, RpcException status);

    /// <summary>The status telemetry records: <paramref name="status"/>, or what the edge's answer stands for.</summary>
    StatusCode Observed(CallContext call, StatusCode status);
}
