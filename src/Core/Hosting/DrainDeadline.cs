using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// The drain bound: after SIGTERM, calls and streams in flight get <c>DRAIN_SECONDS</c> to finish.
/// Shortly before the host would cut their connections (1 s before the end of the drain period,
/// or at 75% of a period under 4 s), <see cref="Reached"/> completes so <see cref="DrainInterceptor"/> can end them
/// with UNAVAILABLE and RetryInfo, which clients retry on another replica, instead of a reset
/// connection.
/// </summary>
internal sealed class DrainDeadline
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _timer;

    public DrainDeadline(IHostApplicationLifetime lifetime, IOptions<HostingOptions> hosting, TimeProvider time)
    {
        var drain = TimeSpan.FromSeconds(hosting.Value.DrainSeconds);
        var cut = drain - TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, drain.Ticks / 4));
        lifetime.ApplicationStopping.Register(() =>
        {
            // Kept in a field: an unreferenced timer may be collected before it fires.
            _timer = time.CreateTimer(_ => _reached.TrySetResult(), null, cut, Timeout.InfiniteTimeSpan);
        });
    }

    /// <summary>Completes when in-flight calls must end (never before shutdown starts).</summary>
    public Task Reached => _reached.Task;
}

/// <summary>
/// Ends calls still running at the drain bound with UNAVAILABLE (reason SHUTTING_DOWN, RetryInfo
/// 1 s): the caller gets a status it retries, never a truncated answer presented as complete.
/// Runs inside the telemetry interceptor (which records the status) and outside the others.
/// </summary>
internal sealed class DrainInterceptor(DrainDeadline deadline) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        if (await Task.WhenAny(call, deadline.Reached) != call)
        {
            Observe(call);
            throw ShuttingDown();
        }

        return await call;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = continuation(request, new GatedWriter<TResponse>(responseStream, deadline.Reached), context);
        if (await Task.WhenAny(call, deadline.Reached) != call)
        {
            Observe(call);
            throw ShuttingDown();
        }

        await call;
    }

    private static RpcException ShuttingDown() =>
        RpcErrors.Unavailable("SHUTTING_DOWN", "This replica is shutting down and its drain period is over; retry the call (another replica will serve it).", TimeSpan.FromSeconds(1));

    /// <summary>The abandoned handler ends on its own (its writes are refused); its outcome is not the caller's any more.</summary>
    private static void Observe(Task call) => call.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);

    /// <summary>Refuses writes once the bound is reached, so an abandoned handler never writes after the status.</summary>
    private sealed class GatedWriter<T>(IServerStreamWriter<T> inner, Task reached) : IServerStreamWriter<T>
    {
        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(T message, CancellationToken cancellationToken) =>
            reached.IsCompleted ? Task.FromException(new OperationCanceledException("The drain period is over.")) : inner.WriteAsync(message, cancellationToken);
    }
}
