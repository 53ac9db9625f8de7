using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The gRPC adapter (and so the REST host's transcoded RPCs): the only interceptor. Builds each call's
/// <see cref="CallContext"/> and runs the handler inside the <see cref="CallPipeline"/>; failures leave
/// as the <see cref="RpcException"/> the error step mapped, which gRPC (or JSON transcoding) sends as
/// google.rpc.Status. Server streams' writes are gated by the drain bound, so a call the drain step
/// abandoned never writes after its status.
/// </summary>
internal sealed class GrpcCallInterceptor(CallPipeline pipeline, DrainStep drain, RequestLimits limits) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call(request, context, stream: false);
        TResponse response = default!;
        await pipeline.RunAsync(call, async c => response = await continuation(request, context));
        return response;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call(request, context, stream: true);
        var gated = new DrainGatedWriter<TResponse>(responseStream, drain.Reached);
        await pipeline.RunAsync(call, async c => await continuation(request, gated, context));
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call<object?>(null, context, stream: false);
        TResponse response = default!;
        await pipeline.RunAsync(call, async c => response = await continuation(requestStream, context));
        return response;
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call<object?>(null, context, stream: true);
        var gated = new DrainGatedWriter<TResponse>(responseStream, drain.Reached);
        await pipeline.RunAsync(call, async c => await continuation(requestStream, gated, context));
    }

    private CallContext Call<TRequest>(TRequest request, ServerCallContext context, bool stream) =>
        new(context.Method, TelemetryStep.RpcName(context.Method), new GrpcEdge(context, stream, limits.DefaultMaxTokens), context.CancellationToken,
            context.Deadline == DateTime.MaxValue ? null : context.Deadline)
        {
            Request = request,
            IsStream = stream,
        };

    /// <summary>What the pipeline needs from a gRPC call.</summary>
    private sealed class GrpcEdge(ServerCallContext context, bool stream, int defaultMaxTokens) : ICallEdge
    {
        public HttpContext? Http => context.GetHttpContext();

        public bool CanDrain => true;

        public string? Header(string name) => context.RequestHeaders.GetValue(name);

        public ValueTask BindAsync(CallContext call)
        {
            if (call.Request is ExecuteRequest execute)
            {
                call.Task = ExecuteTask.ForAdmission(execute, defaultMaxTokens);
                call.MaxTokensNamed = execute.HasMaxTokens;
            }

            return ValueTask.CompletedTask;
        }

        public void AddTrailer(string name, string value) => context.ResponseTrailers.Add(name, value);

        public void Answered(CallContext call, TimeSpan overhead)
        {
            var value = TelemetryStep.Milliseconds(overhead);
            if (stream)
            {
                context.ResponseTrailers.Add(TelemetryStep.OverheadHeader, value);
                return;
            }

            // A response already under way has no headers left to set: gRPC answered the call itself
            // (its deadline passed while the handler was finishing) and setting them would throw.
            var response = context.GetHttpContext().Response;
            if (response.HasStarted)
            {
                return;
            }

            var headers = response.Headers;
            headers[TelemetryStep.OverheadHeader] = value;
            headers[TelemetryStep.RequestIdHeader] = call.Telemetry!.RequestId;
        }

        public ValueTask<bool> RenderAsync(CallContext call, RpcException status) => ValueTask.FromResult(false);

        public StatusCode Observed(CallContext call, StatusCode status) => status;
    }
}
