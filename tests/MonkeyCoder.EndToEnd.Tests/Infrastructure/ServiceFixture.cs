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

    /// <summary>Extra environment for the host; override in derived fixtures.</summary>
    protected virtual IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>();

    public RouterService.RouterServiceClient Router => new(Channel);

    public ModelService.ModelServiceClient Models => new(Channel);

    public virtual async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        Host = await HostProcess.StartServiceAsync(Environment);
        Channel = GrpcChannel.ForAddress(Host.Address);
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
