using Grpc.Core;
using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Calls;

namespace MonkeyCoder.Tests.Infrastructure;

/// <summary>An edge for running call steps directly: headers from a dictionary, an empty HttpContext, trailers and renders recorded.</summary>
internal sealed class TestCallEdge : ICallEdge
{
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<(string Name, string Value)> Trailers { get; } = [];

    public Func<CallContext, ValueTask>? Bind { get; init; }

    public HttpContext? Http { get; } = new DefaultHttpContext();

    public bool CanDrain { get; init; } = true;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public ValueTask BindAsync(CallContext call) => Bind?.Invoke(call) ?? ValueTask.CompletedTask;

    public void AddTrailer(string name, string value) => Trailers.Add((name, value));

    public void Answered(CallContext call, TimeSpan overhead)
    {
    }

    public ValueTask<bool> RenderAsync(CallContext call, RpcException status) => ValueTask.FromResult(false);

    public StatusCode Observed(CallContext call, StatusCode status) => status;

    /// <summary>A call of <paramref name="operation"/> on a new test edge.</summary>
    public static CallContext Call(string operation, object? request = null, CancellationToken cancellationToken = default, TestCallEdge? edge = null) =>
        new(operation, TelemetryStep.RpcName(operation), edge ?? new TestCallEdge(), cancellationToken) { Request = request };

    /// <summary>Runs <paramref name="handler"/> inside <paramref name="steps"/> (outermost first), as the pipeline does.</summary>
    public static ValueTask RunAsync(CallContext call, CallNext handler, params ICallStep[] steps)
    {
        CallContext.Current = call;
        return Next(0)(call);

        CallNext Next(int index) => index == steps.Length ? handler : c => steps[index].RunAsync(c, Next(index + 1));
    }
}
