using System.Diagnostics;

namespace MonkeyCoder.LoadTests.Hosts;

/// <summary>
/// The throwaway Redis of <c>scripts/services.sh</c> (<c>MONKEY_TEST_REDIS_URL</c>), shut down
/// and started again with the same settings services.sh uses (no persistence: a restart loses every
/// key, as a failed-over cache node would). Null when the variables are not set.
/// </summary>
public sealed class RedisControl
{
    private readonly string _port;
    private readonly string _state;

    private RedisControl(string url, string port, string state)
    {
        Url = url;
        _port = port;
        _state = state;
    }

    public string Url { get; }

    /// <summary>Needs MONKEY_TEST_REDIS_URL and the state folder services.sh keeps next to PostgreSQL's data (MONKEY_TEST_PG_DATA).</summary>
    public static RedisControl? FromEnvironment()
    {
        var url = Environment.GetEnvironmentVariable("MONKEY_TEST_REDIS_URL");
        var pgData = Environment.GetEnvironmentVariable("MONKEY_TEST_PG_DATA");
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(pgData) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Port <= 0)
        {
            return null;
        }

        return new RedisControl(url, uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Path.GetDirectoryName(pgData)!);
    }

    /// <summary>SHUTDOWN NOSAVE: connections are cut at once.</summary>
    public async Task StopAsync()
    {
        await RunAsync("redis-cli", "-p", _port, "shutdown", "nosave");
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10) && await PingAsync())
        {
            await Task.Delay(50);
        }
    }

    public async Task StartAsync()
    {
        await RunAsync("redis-server", "--port", _port, "--bind", "127.0.0.1", "--daemonize", "yes", "--save", "", "--appendonly", "no",
            "--dir", _state, "--pidfile", Path.Combine(_state, "redis.pid"), "--logfile", Path.Combine(_state, "redis.log"));
        var watch = Stopwatch.StartNew();
        while (!await PingAsync())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"redis-server on port {_port} did not answer PING within 20 s");
            }

            await Task.Delay(50);
        }
    }

    private async Task<bool> PingAsync()
    {
        var (code, output) = await RunAsync("redis-cli", "-p", _port, "ping");
        return code == 0 && output.Contains("PONG", StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, output);
    }
}
