using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// <c>monkey-coder-service healthcheck [service]</c>: asks the Service's own gRPC health endpoint on
/// loopback and exits 0 when it answers SERVING, 1 otherwise. Chiseled and distroless images have no
/// shell or curl, so the Docker HEALTHCHECK runs the binary itself.
/// </summary>
public static class GrpcHealthProbe
{
    public const string Command = "healthcheck";

    /// <summary>The whole probe, including connecting, must answer within this. 3 s.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    public static bool IsCommand(string[] args) => args is [Command, ..];

    /// <summary>
    /// Probes 127.0.0.1 on the port the host listens on (<c>PORT</c>, else <paramref name="defaultPort"/>).
    /// <c>args[1]</c>, when given, names the gRPC service to check (empty = the whole server).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, int defaultPort, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        output ??= Console.Out;
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddMonkeyCoderEnvironment().Build();
        var port = configuration.GetValue(HostingOptions.Section + ":Port", 0);
        var address = new Uri($"http://127.0.0.1:{(port == 0 ? defaultPort : port).ToString(CultureInfo.InvariantCulture)}");
        var service = args.Length > 1 ? args[1] : "";
        try
        {
            using var channel = GrpcChannel.ForAddress(address);
            var reply = await new Health.HealthClient(channel)
                .CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.Add(Deadline))
                .ConfigureAwait(false);
            await output.WriteLineAsync($"{address} '{service}': {reply.Status}").ConfigureAwait(false);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            await output.WriteLineAsync($"{address} '{service}': {ex.StatusCode} {ex.Status.Detail}").ConfigureAwait(false);
            return 1;
        }
    }
}
