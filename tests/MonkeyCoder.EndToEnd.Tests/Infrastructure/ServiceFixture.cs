using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One Service process on embedded defaults for a test collection, with a channel to it. Records the
/// time from process start to the first successful Execute (printed by the test command).
/// </summary>
public class ServiceFixture : IAsyncLifetime
{
    public HostProcess Host { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public TimeSpan StartupToFirstCall { get; private set; }

    /// <summary>The admin API key the host is started with (MONKEY_CODER_ADMIN_API_KEY); every call through <see cref="Channel"/> carries it.</summary>
    public const string AdminKey = "mk_e2eadmin00_0123456789abcdefghijklmnopqrstuvwxyzABCD";

    /// <summary>Extra environment for the host; override in derived fixtures.</summary>
    protected virtual IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>();

    public RouterService.RouterServiceClient Router => new(Channel);

    public ModelService.ModelServiceClient Models => new(Channel);

    public virtual async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        var environment = new Dictionary<string, string>(Environment);
        environment.TryAdd("MONKEY_CODER_ADMIN_API_KEY", AdminKey);
        Host = await HostProcess.StartServiceAsync(environment);
        Channel = AuthenticatedChannel(Host.Address, environment["MONKEY_CODER_ADMIN_API_KEY"]);
        var router = new RouterService.RouterServiceClient(Channel);
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "ping", MaxTokens = 1 };
        while (true)
        {
            try
            {
                await router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                break;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
        }

        StartupToFirstCall = watch.Elapsed;
        Report.Write($"{(HostProcess.UsesAotBinary ? "aot" : "jit")}-service-startup-to-first-call-ms", StartupToFirstCall.TotalMilliseconds);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        var errors = Host.ErrorLines.ToList();
        await Host.DisposeAsync();
        if (errors.Count > 0 && !AllowErrorLogs)
        {
            throw new InvalidOperationException("The host logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }

    /// <summary>A channel whose every call carries <c>authorization: Bearer {credential}</c> (plaintext loopback).</summary>
    public static GrpcChannel AuthenticatedChannel(Uri address, string credential) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", "Bearer " + credential);
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        });

    /// <summary>Fixtures whose tests provoke server errors on purpose set this.</summary>
    protected virtual bool AllowErrorLogs => false;
}

[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}

/// <summary>Writes one measured number to artifacts/test-report.txt, which the test command prints.</summary>
public static class Report
{
    private static readonly Lock Gate = new();

    public static void Write(string name, double value)
    {
        var dir = Path.Combine(HostProcess.RepoRoot(), "artifacts");
        Directory.CreateDirectory(dir);
        lock (Gate)
        {
            File.AppendAllText(Path.Combine(dir, "test-report.txt"), string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}={value:0.##}\n"));
        }
    }
}
