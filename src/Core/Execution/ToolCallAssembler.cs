using System.Globalization;
using System.Text;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Assembles streamed <see cref="ToolCallDelta"/>s into complete <see cref="ToolCall"/>s: a call is keyed
/// by its index; its id and name come from the first piece that has them, its arguments are the pieces in
/// order. The outcome of a streamed answer carries what this builds, so the unary and the streamed
/// answer of one call are the same.
/// </summary>
internal sealed class ToolCallAssembler
{
    private readonly SortedDictionary<int, Entry> _calls = [];

    /// <summary>True once any piece of a tool call arrived: from then on the stream can't be continued, only failed.</summary>
    public bool Started => _calls.Count > 0;

    public void Add(ToolCallDelta delta)
    {
        if (!_calls.TryGetValue(delta.Index, out var entry))
        {
            entry = new Entry();
            _calls[delta.Index] = entry;
        }

        entry.Id ??= delta.Id is { Length: > 0 } ? delta.Id : null;
        entry.Name ??= delta.Name is { Length: > 0 } ? delta.Name : null;
        entry.Arguments.Append(delta.ArgumentsDelta);
    }

    /// <summary>The complete calls in index order; a call whose id never came gets a generated one.</summary>
    public IReadOnlyList<ToolCall> Build()
    {
        var result = new List<ToolCall>(_calls.Count);
        foreach (var (index, entry) in _calls)
        {
            var arguments = entry.Arguments.Length == 0 ? "{}" : entry.Arguments.ToString();
            result.Add(new ToolCall(entry.Id ?? "call_" + index.ToString(CultureInfo.InvariantCulture), entry.Name ?? "", arguments));
        }

        return result;
    }

    private sealed class Entry
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}
