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
    private readonly ConcurrentQueue<HostErrorLine> _errors = new();
    private readonly ConcurrentQueue<(int Index, string Message)> _errorMessages = new();
    private bool _lastErrorOpen;

    private HostProcess(Process process, string kind, int port, int metricsPort)
    {
        _process = process;
        Kind = kind;
        Port = port;
        MetricsPort = metricsPort;
    }

    public string Kind { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>The host's METRICS_PORT (HTTP/1.1: /metrics, /healthz, /readyz).</summary>
    public int MetricsPort { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Where the host was started from, so it can be started again with the same everything (same port).</summary>
    public (string FileName, IReadOnlyList<string> Arguments) StartInfo { get; private init; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public IReadOnlyDictionary<string, string> Environment { get; private init; } = new Dictionary<string, string>();

    public string Command { get; private init; } = "";

    /// <summary>Lines logged at error level or above ("fail:"/"crit:" of the simple console formatter).</summary>
    public IReadOnlyList<string> ErrorLines => [.. _output.Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal))];

    /// <summary>Error and critical lines with when they arrived and the message line after them (at most 5,000; not bounded by the output limit).</summary>
    public IReadOnlyList<HostErrorLine> Errors
    {
        get
        {
            var errors = _errors.ToArray();
            foreach (var (index, message) in _errorMessages)
            {
                if (index >= 0 && index < errors.Length)
                {
                    errors[index] = errors[index] with { Message = message };
                }
            }

            return errors;
        }
    }

    /// <summary>Output lines kept (at most 20,000: later lines are not kept).</summary>
    public int OutputLines => _output.Count;

    /// <summary>Output lines matching <paramref name="predicate"/> (bounded like the output).</summary>
    public IReadOnlyList<string> Lines(Func<string, bool> predicate) => [.. _output.Where(predicate)];

    /// <summary>Starts the host on <c>port</c> (0 = a free one; a restart passes its predecessor's) and waits until it listens.</summary>
    public static async Task<HostProcess> StartAsync(string kind, string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken, int port = 0, int metricsPort = 0)
    {
        port = port > 0 ? port : FreePort();
        metricsPort = metricsPort > 0 ? metricsPort : FreePort();
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
            ["METRICS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
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
        var host = new HostProcess(process, kind, port, metricsPort)
        {
            Environment = environment,
            StartInfo = (fileName, arguments),
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
        if (line is not null && _errors.Count < 5_000)
        {
            if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
            {
                _errors.Enqueue(new HostErrorLine(DateTimeOffset.UtcNow, line, null));
                _lastErrorOpen = true;
            }
            else if (_lastErrorOpen && line.StartsWith(' '))
            {
                // The simple formatter writes the message on the line after "fail: Category[id]".
                _lastErrorOpen = false;
                _errorMessages.Enqueue((_errors.Count - 1, line.Trim()));
            }
            else
            {
                _lastErrorOpen = false;
            }
        }

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

    /// <summary>Sends a signal (9 SIGKILL, 15 SIGTERM) without waiting.</summary>
    public void Signal(int signal) => _ = kill(_process.Id, signal);

    /// <summary>Waits (bounded) for the process to exit; false when it is still running.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One "fail:"/"crit:" line of a host, when the tool read it, and its message line.</summary>
public sealed record HostErrorLine(DateTimeOffset At, string Line, string? Message);
