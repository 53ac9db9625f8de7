namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>One REST host process on embedded defaults, with an HttpClient to it.</summary>
public class GatewayFixture : IAsyncLifetime
{
    public HostProcess Host { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    protected virtual IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        var environment = new Dictionary<string, string>(Environment);
        environment.TryAdd("MONKEY_CODER_ADMIN_API_KEY", ServiceFixture.AdminKey);
        Host = await HostProcess.StartGatewayAsync(environment);
        Http = new HttpClient { BaseAddress = Host.Address, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", environment["MONKEY_CODER_ADMIN_API_KEY"]);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        var errors = Host.ErrorLines.ToList();
        await Host.DisposeAsync();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The gateway logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
