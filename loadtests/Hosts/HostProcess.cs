using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace MonkeyCoder.LoadTests.Hosts;

/// <summary>
/// A host the load tool started itself on a free loopback port, with the environment a scenario
/// needs. Disposing stops it with SIGTERM (killed after 10 s). Its RSS is read from /proc.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private HostProcess(Process process, string kind, int port)
    {
        _process = process;
        Kind = kind;
        Port = port;
    }

    public string Kind { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public IReadOnlyDictionary<string, string> Environment { get; private init; } = new Dictionary<string, string>();

    public string Command { get; private init; } = "";

    /// <summary>Lines logged at error level or above ("fail:"/"crit:" of the simple console formatter).</summary>
    public IReadOnlyList<string> ErrorLines => [.. _output.Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal))];

    /// <summary>Output lines kept (at most 20,000: later lines are not kept).</summary>
    public int OutputLines => _output.Count;

    /// <summary>Output lines matching <paramref name="predicate"/> (bounded like the output).</summary>
    public IReadOnlyList<string> Lines(Func<string, bool> predicate) => [.. _output.Where(predicate)];

    public static async Task<HostProcess> StartAsync(string kind, string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Paths.RepoRoot,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // A clean environment: no stray provider keys, databases or Sentry from the caller's shell.
        foreach (var key in new[] { "DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY", "XAI_API_KEY", "SENTRY_DSN" })
        {
            info.Environment.Remove(key);
        }

        var env = new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            // Its own metrics port: the default (9464) may belong to another Service on this machine.
            ["METRICS_PORT"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["BIND_ADDRESS"] = "127.0.0.1",
            ["ENVIRONMENT"] = "test",
            ["Logging__Console__FormatterName"] = "simple",
        };
        foreach (var (key, value) in Clients.LoadCredentials.HostEnvironment)
        {
            env[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            env[key] = value;
        }

        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var host = new HostProcess(process, kind, port)
        {
            Environment = environment,
            Command = fileName + (arguments.Count > 0 ? " " + string.Join(' ', arguments) : ""),
        };
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitForPortAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return host;
    }

    private void Keep(string? line)
    {
        // Bounded: a host that logs per request must not grow the tool's memory without limit.
        if (line is not null && _output.Count < 20_000)
        {
            _output.Enqueue(line);
        }
    }

    private async Task WaitForPortAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The {Kind} exited with code {_process.ExitCode} during start-up:\n{string.Join('\n', _output)}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        throw new TimeoutException($"The {Kind} did not listen on {Port} within {timeout}:\n{string.Join('\n', _output)}");
    }

    /// <summary>Resident set size now and its peak (VmRSS, VmHWM) in MiB; null when /proc is not there.</summary>
    public (double RssMb, double PeakRssMb)? Memory()
    {
        try
        {
            double rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kb(line);
                }
            }

            return (Math.Round(rss / 1024, 1), Math.Round(hwm / 1024, 1));
        }
        catch (IOException)
        {
            return null;
        }

        static double Kb(string line) => double.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
