using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Connection;

/// <summary>
/// One channel to the Service for the run, with the API key added to every call as
/// `authorization: Bearer &lt;key&gt;` metadata (an interceptor, so plaintext http:// works too).
/// </summary>
internal sealed class ServiceConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public ServiceConnection(CliSettings settings)
    {
        Settings = settings;
        _channel = GrpcChannel.ForAddress(settings.BaseUrl, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // A dead address fails in seconds, not after the OS's TCP timeout.
                ConnectTimeout = TimeSpan.FromSeconds(5),
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        });
        var key = settings.ApiKey;
        Invoker = key is null
            ? _channel.CreateCallInvoker()
            : _channel.Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + key);
                return metadata;
            });
    }

    public CliSettings Settings { get; }

    public CallInvoker Invoker { get; }

    public RouterService.RouterServiceClient Router => new(Invoker);

    public ModelService.ModelServiceClient Models => new(Invoker);

    public Health.HealthClient Health => new(Invoker);

    public void Dispose() => _channel.Dispose();
}
