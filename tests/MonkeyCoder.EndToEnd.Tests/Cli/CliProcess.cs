using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>What one finished `monkey` run printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    /// <summary>The non-empty stdout lines (one JSON event each with --json).</summary>
    public IReadOnlyList<string> StdoutLines() => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// Runs the built CLI (`dotnet monkey.dll`) as a real process with its own HOME and XDG folders,
/// so config and credentials never touch the developer's files. stdin, stdout and stderr are
/// pipes, so the CLI sees no terminal (no spinner, no colour).
/// </summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly ConcurrentQueue<string> _stdoutLines = new();

    private CliProcess(Process process) => _process = process;

    public StreamWriter Stdin => _process.StandardInput;

    public IEnumerable<string> StdoutLines => _stdoutLines;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>A scratch home (HOME, XDG_CONFIG_HOME, XDG_STATE_HOME) per test.</summary>
    public sealed class Home : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("monkey-cli-").FullName;

        public string ConfigDirectory => Path.Combine(Root, "config", "monkey-coder");

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public static string CliDll()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(HostProcess.RepoRoot(), "src", "Cli", "bin", configuration, "net10.0", "monkey.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/Cli first: {path} is missing.");
    }

    /// <summary>Starts `monkey args…`; <paramref name="baseUrl"/> goes in MONKEY_CODER_BASE_URL unless null.</summary>
    public static CliProcess Start(Home home, Uri? baseUrl, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        // A shell that starts the test run in the background leaves SIGINT ignored, and children inherit
        // that; python3 (installed by scripts/test.sh) restores the default before exec so the SIGINT
        // tests test the CLI, not the caller's shell.
        var info = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = home.Root,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(CliDll());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var key in new[] { "MONKEY_CODER_API_KEY", "MONKEY_CODER_BASE_URL" })
        {
            info.Environment.Remove(key);
        }

        info.Environment["HOME"] = home.Root;
        info.Environment["XDG_CONFIG_HOME"] = Path.Combine(home.Root, "config");
        info.Environment["XDG_STATE_HOME"] = Path.Combine(home.Root, "state");
        if (baseUrl is not null)
        {
            info.Environment["MONKEY_CODER_BASE_URL"] = baseUrl.ToString().TrimEnd('/');
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (cli._stdout)
                {
                    cli._stdout.Append(e.Data).Append('\n');
                }

                cli._stdoutLines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (cli._stderr)
                {
                    cli._stderr.Append(e.Data).Append('\n');
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>Runs to completion (bounded), feeding <paramref name="stdin"/> and then closing it.</summary>
    public static async Task<CliResult> RunAsync(Home home, Uri? baseUrl, IEnumerable<string> args, string stdin = "", IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 60)
    {
        await using var cli = Start(home, baseUrl, args, environment);
        await cli.Stdin.WriteAsync(stdin);
        cli.Stdin.Close();
        return await cli.WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
    }

    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"monkey did not exit within {timeout}:\n{Stdout}\n{StderrText()}");
        }

        _process.WaitForExit(); // drains the redirected output
        return new CliResult(_process.ExitCode, Stdout, StderrText());
    }

    /// <summary>Waits (bounded) for a stdout line matching <paramref name="predicate"/>.</summary>
    public async Task<bool> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout && !_process.HasExited)
        {
            if (_stdoutLines.Any(predicate))
            {
                return true;
            }

            await Task.Delay(10);
        }

        return _stdoutLines.Any(predicate);
    }

    /// <summary>A Service log line saying the simulated provider stopped because its caller went away.</summary>
    public static bool IsProviderStopped(string line) => line.Contains("stopped by the caller", StringComparison.Ordinal);

    /// <summary>Polls <paramref name="condition"/> (bounded); true once it holds.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(25);
        }

        return condition();
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public void Interrupt() => Assert.Equal(0, kill(_process.Id, 2));

    private string StderrText()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
