using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>
/// A Service and a REST host on one fresh PostgreSQL database and the shared Redis, with sign-in
/// limits low enough to reach: per account 5 per minute on both; per client address 5 per minute on
/// the REST host, where tests pose as distinct clients through X-Forwarded-For (loopback is a
/// trusted proxy by default). The Service keeps the run-wide high per-address limit: every host of
/// the run calls it from 127.0.0.1.
/// </summary>
public sealed class AnonymousAbuseFixture : IAsyncLifetime
{
    public const int PerAccount = 5;
    public const int PerClient = 5;

    private readonly List<GrpcChannel> _channels = [];

    public HostProcess Service { get; private set; } = null!;

    public HostProcess Gateway { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string DatabaseUrl { get; private set; } = "";

    public GrpcChannel Admin { get; private set; } = null!;

    public GrpcChannel Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestServices.CreateDatabaseAsync();
        var common = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = DatabaseUrl,
            ["REDIS_URL"] = TestServices.RedisUrl,
            ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["AUTH_DEVICE_INTERVAL_SECONDS"] = "1",
            // The fuzz pass runs executions: fast simulated answers keep it inside its time budget.
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
            ["SIMULATED_TOKENS_PER_SECOND"] = "100000",
            ["AUTH_RATE_LIMIT_PER_ACCOUNT"] = PerAccount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Wrong passwords arrive in parallel: they queue for hashing rather than being refused as busy.
            ["MonkeyCoder__Auth__PasswordHashQueueSeconds"] = "30",
        };
        Service = await HostProcess.StartServiceAsync(common);
        Gateway = await HostProcess.StartGatewayAsync(new Dictionary<string, string>(common)
        {
            ["AUTH_RATE_LIMIT_PER_IP"] = PerClient.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Http = new HttpClient { BaseAddress = Gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
        Admin = With(ServiceFixture.AdminKey);
        Anonymous = GrpcChannel.ForAddress(Service.Address);
        _channels.Add(Anonymous);
    }

    /// <summary>A channel to the Service that sends <c>authorization: Bearer {credential}</c>.</summary>
    public GrpcChannel With(string credential)
    {
        var channel = ServiceFixture.AuthenticatedChannel(Service.Address, credential);
        _channels.Add(channel);
        return channel;
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        Http.Dispose();
        var errors = Service.ErrorLines.Concat(Gateway.ErrorLines).ToList();
        await Service.DisposeAsync();
        await Gateway.DisposeAsync();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("A host logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}
