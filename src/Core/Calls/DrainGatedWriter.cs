using Grpc.Core;

namespace MonkeyCoder.Core.Calls;

/// <summary>Refuses writes once the drain bound is reached, so a handler the drain step abandoned never writes after the status.</summary>
internal sealed class DrainGatedWriter<T>(IServerStreamWriter<T> inner, Task reached) : IServerStreamWriter<T>
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
