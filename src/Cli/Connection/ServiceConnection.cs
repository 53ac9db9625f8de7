using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Connection;

/// <summary>
/// One channel to the Service for the run. Every call carries the credential as
/// `authorization: Bearer &lt;key or token&gt;` through call credentials (allowed on plaintext
/// http:// too, which loopback and TLS-terminating proxies use); a device-flow session is refreshed
/// on the way (<see cref="BearerToken"/>).
/// </summary>
internal sealed class ServiceConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public ServiceConnection(CliSettings settings)
    {
        Settings = settings;
        var token = new BearerToken(settings);
        var https = settings.BaseUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        var credentials = CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            if (BearerToken.Needs(context) && await token.GetAsync(Auth, context.CancellationToken) is { } bearer)
            {
                metadata.Add("authorization", "Bearer " + bearer);
            }
        });
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
            Credentials = ChannelCredentials.Create(https ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials),
            UnsafeUseInsecureChannelCallCredentials = !https,
        });
        Invoker = _channel.CreateCallInvoker();
    }

    public CliSettings Settings { get; }

    public CallInvoker Invoker { get; }

    public RouterService.RouterServiceClient Router => new(Invoker);

    public ModelService.ModelServiceClient Models => new(Invoker);

    public Health.HealthClient Health => new(Invoker);

    public AuthService.AuthServiceClient Auth => new(Invoker);

    public ApiKeyService.ApiKeyServiceClient ApiKeys => new(Invoker);

    public UserService.UserServiceClient Users => new(Invoker);

    public UsageService.UsageServiceClient Usage => new(Invoker);

    public SessionService.SessionServiceClient Sessions => new(Invoker);

    public void Dispose() => _channel.Dispose();
}
