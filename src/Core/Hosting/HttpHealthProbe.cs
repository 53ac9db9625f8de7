using System.Globalization;
using Microsoft.Extensions.Configuration;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// <c>monkey-coder-gateway healthcheck [path]</c>: GETs the REST host's own <c>/healthz</c> (or
/// <c>path</c>) on loopback and exits 0 on 2xx, 1 otherwise. The ASP.NET chiseled image has no curl,
/// so the Docker HEALTHCHECK runs the host itself.
/// </summary>
public static class HttpHealthProbe
{
    /// <summary>Connect and answer within 3 s.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    public static bool IsCommand(string[] args) => GrpcHealthProbe.IsCommand(args);

    public static async Task<int> RunAsync(string[] args, int defaultPort, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        output ??= Console.Out;
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddMonkeyCoderEnvironment().Build();
        var port = configuration.GetValue(HostingOptions.Section + ":Port", 0);
        var path = args.Length > 1 ? args[1] : "/healthz";
        var address = new Uri($"http://127.0.0.1:{(port == 0 ? defaultPort : port).ToString(CultureInfo.InvariantCulture)}{path}");
        using var http = new HttpClient { Timeout = Deadline };
        try
        {
            using var response = await http.GetAsync(address).ConfigureAwait(false);
            await output.WriteLineAsync($"{address}: {(int)response.StatusCode}").ConfigureAwait(false);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"{address}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
