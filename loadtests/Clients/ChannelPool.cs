using Grpc.Net.Client;

namespace MonkeyCoder.LoadTests.Clients;

/// <summary>
/// Several gRPC channels to one address, used round-robin. One HTTP/2 connection carries at most
/// 100 concurrent streams by default (Kestrel's MaxStreamsPerConnection), so high concurrency
/// needs many connections: one per channel, and each handler may open more
/// (EnableMultipleHttp2Connections) when its streams are full.
/// </summary>
public sealed class ChannelPool : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private int _next = -1;

    private static readonly string Authorization = "Bearer " + LoadCredentials.Key;

    public ChannelPool(Uri address, int channels, bool multipleConnections = true)
    {
        _channels = [.. Enumerable.Range(0, Math.Max(1, channels)).Select(_ => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = multipleConnections,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            Credentials = Grpc.Core.ChannelCredentials.Create(Grpc.Core.ChannelCredentials.Insecure, Grpc.Core.CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", Authorization);
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        }))];
    }

    /// <summary>Channels for <paramref name="concurrency"/> callers: one per ~100 streams, at most 128.</summary>
    public static int ChannelsFor(int concurrency) => Math.Clamp((concurrency + 99) / 100, 1, 128);

    public int Count => _channels.Length;

    public GrpcChannel Next() => _channels[(uint)Interlocked.Increment(ref _next) % (uint)_channels.Length];

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
