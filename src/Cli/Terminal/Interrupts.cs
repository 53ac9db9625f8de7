namespace MonkeyCoder.Cli.Terminal;

/// <summary>
/// Ctrl-C (SIGINT) handling. While an operation runs, Ctrl-C cancels just that operation (its gRPC
/// call is cancelled, so the service stops the upstream generation) and the process carries on;
/// with no operation running (e.g. at the chat prompt) Ctrl-C ends the process as usual (exit 130).
/// A second Ctrl-C during a cancellation also ends the process.
/// </summary>
internal static class Interrupts
{
    private static readonly Lock Gate = new();
    private static CancellationTokenSource? _current;

    public static void Install() => Console.CancelKeyPress += OnCancelKeyPress;

    /// <summary>Starts an operation Ctrl-C cancels; dispose the scope when it ends.</summary>
    public static Scope Begin(CancellationToken outer)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        lock (Gate)
        {
            _current = cts;
        }

        return new Scope(cts);
    }

    private static void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        CancellationTokenSource? current;
        lock (Gate)
        {
            current = _current;
            _current = null;
        }

        if (current is null)
        {
            return;
        }

        e.Cancel = true;
        try
        {
            current.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The operation finished while the key was pressed.
        }
    }

    public sealed class Scope(CancellationTokenSource cts) : IDisposable
    {
        public CancellationToken Token => cts.Token;

        public bool WasCancelled => cts.IsCancellationRequested;

        public void Dispose()
        {
            lock (Gate)
            {
                if (ReferenceEquals(_current, cts))
                {
                    _current = null;
                }
            }

            cts.Dispose();
        }
    }
}
