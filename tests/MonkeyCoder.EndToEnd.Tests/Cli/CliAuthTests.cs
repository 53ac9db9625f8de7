using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>
/// What the CLI sends and how it reports auth and limit failures. The Service has no authentication
/// yet (it is being built on its own branch), so a stand-in gRPC endpoint on loopback records the
/// `authorization` metadata of every call and answers with the statuses the Service's RpcErrors
/// produce (UNAUTHENTICATED / RESOURCE_EXHAUSTED with ErrorInfo and RetryInfo). Once auth is
/// merged, CliAuthTests should also run against the real Service with a revoked key.
/// </summary>
public sealed class CliAuthTests : IAsyncLifetime, IDisposable
{
    private readonly CliProcess.Home _home = new();
    private readonly ConcurrentQueue<string> _authorization = new();
    private WebApplication _server = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        var port = HostProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http2));
        _server = builder.Build();
        _server.MapPost("/monkeycoder.v1.RouterService/{method}", Answer);
        _server.MapPost("/monkeycoder.v1.ModelService/{method}", Answer);
        await _server.StartAsync();
        _address = new Uri($"http://127.0.0.1:{port}");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _home.Dispose();

    /// <summary>A trailers-only gRPC reply: "Bearer mk_limited" is rate limited, anything else is rejected.</summary>
    private Task Answer(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        _authorization.Enqueue(authorization);
        var limited = authorization == "Bearer mk_limited";
        var status = new Google.Rpc.Status
        {
            Code = limited ? (int)Grpc.Core.StatusCode.ResourceExhausted : (int)Grpc.Core.StatusCode.Unauthenticated,
            Message = limited ? "Request rate limit reached for this key" : "The API key is not valid",
            Details = { Any.Pack(new ErrorInfo { Reason = limited ? "RATE_LIMITED" : "INVALID_API_KEY", Domain = "monkeycoder" }) },
        };
        if (limited)
        {
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(7)) }));
        }

        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = status.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(status.Message);
        context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray()).TrimEnd('=');
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Implement_RejectedKey_ExitsThree_AndSendsBearerFromFlag()
    {
        var result = await CliProcess.RunAsync(_home, _address, ["implement", "fizzbuzz", "--api-key", "mk_flag_key"],
            environment: new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = "mk_env_key" });

        Assert.True(result.ExitCode == 3, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not authenticated: The API key is not valid (INVALID_API_KEY)", line, StringComparison.Ordinal);
        Assert.Contains("monkey auth login", line, StringComparison.Ordinal);
        Assert.Equal(["Bearer mk_flag_key"], _authorization);
    }

    [Fact]
    public async Task ApiKey_EnvOverFile_FileWhenNoEnv_NoneWhenNeither()
    {
        await CliProcess.RunAsync(_home, _address, ["auth", "login", "--api-key", "mk_file_key"]);

        var env = await CliProcess.RunAsync(_home, _address, ["models"], environment: new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = "mk_env_key" });
        var file = await CliProcess.RunAsync(_home, _address, ["providers"]);
        await CliProcess.RunAsync(_home, _address, ["auth", "logout"]);
        var none = await CliProcess.RunAsync(_home, _address, ["route", "x"]);

        Assert.All([env, file, none], r => Assert.True(r.ExitCode == 3, r.ToString()));
        Assert.Equal(["Bearer mk_env_key", "Bearer mk_file_key", ""], _authorization);
    }

    [Fact]
    public async Task Implement_RateLimited_ExitsFourWithRetryAfter()
    {
        var result = await CliProcess.RunAsync(_home, _address, ["implement", "fizzbuzz", "--api-key", "mk_limited", "--verbose"]);

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.StartsWith("error: implement failed: limit reached: Request rate limit reached for this key (RATE_LIMITED). Retry after 7 s.", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("retry after: 7 s", result.Stderr, StringComparison.Ordinal); // --verbose details
    }
}
