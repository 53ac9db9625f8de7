using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>
/// One Service on a fresh PostgreSQL database and the shared Redis, with a fixed JWT secret and a
/// 1 s device polling interval. <see cref="Admin"/> carries the bootstrap admin key.
/// </summary>
public sealed class SecuredServiceFixture : IAsyncLifetime
{
    public const string JwtSecret = "e2e-jwt-secret-0123456789abcdefghijklmnop";

    private readonly List<GrpcChannel> _channels = [];

    public HostProcess Host { get; private set; } = null!;

    public string DatabaseUrl { get; private set; } = "";

    public GrpcChannel Admin { get; private set; } = null!;

    public GrpcChannel Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestServices.CreateDatabaseAsync();
        Host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["DATABASE_URL"] = DatabaseUrl,
            ["REDIS_URL"] = TestServices.RedisUrl,
            ["JWT_SECRET_KEY"] = JwtSecret,
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["AUTH_DEVICE_INTERVAL_SECONDS"] = "1",
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
        });
        Admin = With(ServiceFixture.AdminKey);
        Anonymous = GrpcChannel.ForAddress(Host.Address);
        _channels.Add(Anonymous);
    }

    /// <summary>A channel that sends <c>authorization: Bearer {credential}</c>.</summary>
    public GrpcChannel With(string credential)
    {
        var channel = ServiceFixture.AuthenticatedChannel(Host.Address, credential);
        _channels.Add(channel);
        return channel;
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        var errors = Host.ErrorLines.ToList();
        await Host.DisposeAsync();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The host logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}
