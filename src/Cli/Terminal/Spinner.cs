namespace MonkeyCoder.Cli.Terminal;

/// <summary>
/// A progress indicator while waiting for the first token. Drawn only when stdout is a terminal
/// (never into a pipe or file); cleared before the first byte of the answer is written.
/// </summary>
internal sealed class Spinner : IAsyncDisposable
{
    private static readonly string[] Frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private bool _stopped;

    private Spinner(string label, bool enabled)
    {
        _loop = enabled ? RunAsync(label, _stop.Token) : Task.CompletedTask;
        _stopped = !enabled;
    }

    public static bool Enabled => !Console.IsOutputRedirected;

    public static Spinner Start(string label) => new(label, Enabled);

    /// <summary>Stops and erases the spinner; safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stop.CancelAsync();
        await _loop;
        Console.Out.Write("\r\u001b[2K");
        Console.Out.Flush();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private static async Task RunAsync(string label, CancellationToken stop)
    {
        var frame = 0;
        var started = DateTime.UtcNow;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var seconds = (DateTime.UtcNow - started).TotalSeconds;
                Console.Out.Write(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\r\u001b[2K{Frames[frame++ % Frames.Length]} {label} {seconds:0.0}s"));
                Console.Out.Flush();
                await Task.Delay(80, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
