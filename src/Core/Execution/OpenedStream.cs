using System.Diagnostics;
using System.Text;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>A stream committed to after its first content: its enumerator, timers and the text so far.</summary>
internal sealed class OpenedStream(RouteCandidate candidate, ProviderRequest request, long start, CancellationTokenSource due, CancellationTokenSource whole, CancellationTokenSource linked) : IAsyncDisposable
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _delivered = new();
    private readonly StringBuilder _toolText = new();

    public RouteCandidate Candidate => candidate;

    public ProviderRequest Request => request;

    public long Start => start;

    /// <summary>Fires when the next event is overdue (first-token, then stall timeout).</summary>
    public CancellationTokenSource Due => due;

    /// <summary>Fires when the whole attempt is overdue.</summary>
    public CancellationTokenSource Whole => whole;

    public IAsyncEnumerator<ProviderStreamEvent> Enumerator { get; internal set; } = null!;

    public ProviderStreamEvent First { get; internal set; }

    public TimeSpan? TimeToFirstToken { get; internal set; }

    public string Text => _text.ToString();

    /// <summary>The tool calls streamed so far by this attempt (pieces assembled by index).</summary>
    public ToolCallAssembler ToolCalls { get; } = new();

    /// <summary>The tool-call names and argument pieces streamed so far: output tokens of this attempt too.</summary>
    public string ToolCallText => _toolText.ToString();

    /// <summary>What of this attempt's text reached the caller (a continuation's repeated start is not delivered).</summary>
    public string DeliveredText => _delivered.ToString();

    internal void Deliver(string text) => _delivered.Append(text);

    /// <summary>Records the attempt as cancelled; armed once committed, run by <see cref="DisposeAsync"/> unless the attempt settled first.</summary>
    internal Action? Abandoned { get; set; }

    /// <summary>The attempt's span (null when tracing is off); stopped by <see cref="DisposeAsync"/>.</summary>
    internal Activity? Span { get; set; }

    /// <summary>
    /// Makes the attempt's span current for the rest of the calling async method (the change does
    /// not flow back to its caller), so the attempt observers record on it.
    /// </summary>
    internal void EnterSpan()
    {
        if (Span is not null)
        {
            Activity.Current = Span;
        }
    }

    /// <summary>The attempt's outcome is recorded (completed, failed or cancelled): disposal records nothing more.</summary>
    internal void Settle() => Abandoned = null;

    /// <summary>Takes in one event's content or tool-call piece.</summary>
    internal void Append(ProviderStreamEvent item)
    {
        Append(item.Delta);
        if (item.ToolCall is { } call)
        {
            ToolCalls.Add(call);
            _toolText.Append(call.Name).Append(call.ArgumentsDelta);
        }
    }

    internal void Append(string? delta)
    {
        if (!string.IsNullOrEmpty(delta))
        {
            _text.Append(delta);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Ends the upstream request first, so disposing the enumerator never waits on the network.
        await linked.CancelAsync();
        if (Enumerator is not null)
        {
            try
            {
                await Enumerator.DisposeAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ProviderException or InvalidOperationException)
            {
                // A cancelled or broken upstream stream may throw while closing; its outcome is already recorded.
            }
        }

        // Disposed before it settled: the consumer stopped reading (a client gone, a write that failed).
        // The tokens streamed so far are billed by the provider, so the attempt is usage too.
        var abandoned = Abandoned;
        Abandoned = null;
        EnterSpan();
        abandoned?.Invoke();
        Span?.Stop();

        linked.Dispose();
        due.Dispose();
        whole.Dispose();
    }
}
