using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A real host process (the AOT Service binary, or a host dll under `dotnet`) on a free loopback
/// port, with its output captured. Disposing stops it with SIGTERM (then kills it after 10 s).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private HostProcess(Process process, int port, string kind, int metricsPort)
    {
        _process = process;
        Port = port;
        Kind = kind;
        MetricsPort = metricsPort;
    }

    public int Port { get; }

    /// <summary>The HTTP/1.1 metrics port (METRICS_PORT): /metrics on both hosts, also /healthz and /readyz on the Service.</summary>
    public int MetricsPort { get; }

    public Uri MetricsAddress => new($"http://127.0.0.1:{MetricsPort}");

    public string Kind { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public IEnumerable<string> Output => _output;

    /// <summary>Lines the host logged at error level or above (console logger "fail:"/"crit:").</summary>
    /// <remarks>Each entry carries the indented lines the console logger wrote under it (message, exception, stack), so a failure names its cause.</remarks>
    public IEnumerable<string> ErrorLines
    {
        get
        {
            var entries = new List<string>();
            System.Text.StringBuilder? current = null;
            foreach (var line in _output)
            {
                if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
                {
                    if (current is not null)
                    {
                        entries.Add(current.ToString());
                    }

                    current = new System.Text.StringBuilder(line);
                }
                else if (current is not null && line.Length > 0 && char.IsWhiteSpace(line[0]) && current.Length < 8_000)
                {
                    current.Append('\n').Append(line);
                }
                else if (current is not null)
                {
                    entries.Add(current.ToString());
                    current = null;
                }
            }

            if (current is not null)
            {
                entries.Add(current.ToString());
            }

            return entries;
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Sends a POSIX signal (15 = SIGTERM) without waiting, as an orchestrator would.</summary>
    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits (bounded) for the process to exit; returns its exit code, or null on timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs the Service binary (or dll) once with <paramref name="arguments"/> (e.g. "healthcheck")
    /// and returns its exit code and output. Bounded by <paramref name="timeout"/>.
    /// </summary>
    public static Task<(int ExitCode, string Output)> RunServiceCommandAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments) =>
        RunCommandAsync(ServiceCommand(), environment, timeout, arguments);

    /// <summary>Runs the REST host dll once with <paramref name="arguments"/>; see <see cref="RunServiceCommandAsync"/>.</summary>
    public static Task<(int ExitCode, string Output)> RunGatewayCommandAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments) =>
        RunCommandAsync(("dotnet", HostDll("Gateway.Json", "monkey-coder-gateway.dll")), environment, timeout, arguments);

    private static async Task<(int ExitCode, string Output)> RunCommandAsync((string FileName, string? Argument) command, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string[] arguments)
    {
        var (fileName, argument) = command;
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepoRoot() };
        if (argument is not null)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        // Only what the test gives: never a database or Redis from the caller's shell.
        foreach (var key in new[] { "DATABASE_URL", "REDIS_URL" })
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{fileName} {string.Join(' ', arguments)}' did not exit within {timeout}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    public static Task<HostProcess> StartServiceAsync(IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync("service", ServiceCommand(), environment);

    public static Task<HostProcess> StartGatewayAsync(IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync("gateway", ("dotnet", HostDll("Gateway.Json", "monkey-coder-gateway.dll")), environment);

    /// <summary>Runs the Service with <paramref name="arguments"/> (e.g. <c>migrate</c>) to completion; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunServiceCommandAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout) =>
        RunCommandAsync(ServiceCommand(), environment, timeout, [.. arguments]);

    /// <summary>The AOT binary when MONKEY_SERVICE_BIN names it (as the test command does), else the built dll.</summary>
    public static bool UsesAotBinary => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MONKEY_SERVICE_BIN"));

    private static (string FileName, string? Argument) ServiceCommand()
    {
        var aot = Environment.GetEnvironmentVariable("MONKEY_SERVICE_BIN");
        if (!string.IsNullOrEmpty(aot))
        {
            if (!File.Exists(aot))
            {
                throw new FileNotFoundException($"MONKEY_SERVICE_BIN points at a missing file: {aot}");
            }

            return (aot, null);
        }

        return ("dotnet", HostDll("Service", "monkey-coder-service.dll"));
    }

    private static async Task<HostProcess> StartAsync(string kind, (string FileName, string? Argument) command, IReadOnlyDictionary<string, string>? environment)
    {
        var port = FreePort();
        var metricsPort = FreePort();
        var info = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot(),
        };
        if (command.Argument is not null)
        {
            info.ArgumentList.Add(command.Argument);
        }

        // A clean environment for the host: no stray provider keys or URLs from the caller's shell.
        foreach (var key in new[] { "DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY", "XAI_API_KEY", "SENTRY_DSN" })
        {
            info.Environment.Remove(key);
        }

        info.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["METRICS_PORT"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["BIND_ADDRESS"] = "127.0.0.1";
        // Every host knows the test admin key (fixtures may override it); clients use AuthenticatedChannel.
        info.Environment["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey;
        info.Environment["ENVIRONMENT"] = "test";
        // Every host of the run shares one Redis and calls from 127.0.0.1: sign-in limits per address
        // and account would couple unrelated tests. Tests of those limits set their own.
        info.Environment["AUTH_RATE_LIMIT_PER_IP"] = "1000000";
        info.Environment["AUTH_RATE_LIMIT_PER_ACCOUNT"] = "1000000";
        info.Environment["DOTNET_ENVIRONMENT"] = "Development";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var host = new HostProcess(process, port, kind, metricsPort);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { host._output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { host._output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitForPortAsync(TimeSpan.FromSeconds(60));
        return host;
    }

    /// <summary>Waits until the port accepts connections; fails with the host's output if it exits or times out.</summary>
    private async Task WaitForPortAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The {Kind} exited with code {_process.ExitCode} during start-up:\n{string.Join('\n', _output)}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"The {Kind} did not listen on {Port} within {timeout}:\n{string.Join('\n', _output)}");
    }

    /// <summary>Waits (bounded) until a line matching <paramref name="predicate"/> appears in the output.</summary>
    public async Task<bool> WaitForOutputAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_output.Any(predicate))
            {
                return true;
            }

            await Task.Delay(25);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            if (OperatingSystem.IsLinux())
            {
                _ = kill(_process.Id, 15);
            }
            else
            {
                _process.Kill(entireProcessTree: true);
            }

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

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A free loopback port never handed out before in this test process: fixtures start hosts in
    /// parallel, and a port released by one probe must not become another host's port too.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grpc.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Grpc.sln not found above the test binaries.");
    }

    private static string HostDll(string project, string dll)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(RepoRoot(), "src", project, "bin", configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first: {path} is missing.");
    }
}
