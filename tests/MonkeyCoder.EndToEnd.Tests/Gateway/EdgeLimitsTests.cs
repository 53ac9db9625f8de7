using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>The REST host's header limits and slow-client protection, with small limits so they are quick to reach.</summary>
public sealed class EdgeLimitsTests : IAsyncLifetime
{
    private HostProcess _host = null!;

    public async Task InitializeAsync() =>
        _host = await HostProcess.StartGatewayAsync(new Dictionary<string, string>
        {
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["MonkeyCoder__Edge__MaxRequestHeaderCount"] = "16",
            ["MonkeyCoder__Edge__MaxRequestHeadersTotalBytes"] = "4096",
            ["MonkeyCoder__Edge__RequestHeadersTimeoutSeconds"] = "1",
        });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Request_MoreHeadersThanAllowed_431()
    {
        using var http = new HttpClient { BaseAddress = _host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        for (var i = 0; i < 24; i++)
        {
            request.Headers.Add($"x-extra-{i}", "1");
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Request_HeadersLargerThanAllowed_431()
    {
        using var http = new HttpClient { BaseAddress = _host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("x-big", new string('a', 8 * 1024));

        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Request_WithinLimits_Answered()
    {
        using var http = new HttpClient { BaseAddress = _host.Address };
        using var response = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SlowClient_HeadersNeverFinished_ConnectionClosedAfterTheHeadersTimeout()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _host.Address.Port);
        var stream = client.GetStream();
        // A slowloris client: a request line and one header, then silence.
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: localhost\r\n"));
        var watch = Stopwatch.StartNew();
        var buffer = new byte[4096];
        var received = new StringBuilder();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            do
            {
                read = await stream.ReadAsync(buffer, bound.Token);
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            while (read > 0);
        }
        catch (IOException)
        {
            // A reset is a close too.
        }

        // Kestrel's timer checks about once a second: closed within the 1 s timeout plus that tick, never the whole bound.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"held open {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.DoesNotContain("200 OK", received.ToString(), StringComparison.Ordinal);
    }
}
