using System.Collections;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// A plan's or a candidate's reasons: plain strings and <see cref="IReasonSource"/> parts, formatted
/// together on the first read (and again only after a change). The router owns the list while it
/// plans; afterwards it is only read, and concurrent first reads format the same text.
/// </summary>
internal sealed class ReasonList : IReadOnlyList<string>, ICollection<string>
{
    private readonly List<Entry> _entries;
    private string[]? _texts;

    public ReasonList()
        : this(4)
    {
    }

    public ReasonList(int capacity) => _entries = new List<Entry>(capacity);

    public int Count => _entries.Count;

    bool ICollection<string>.IsReadOnly => false;

    public string this[int index] => Texts()[index];

    public void Add(string item) => Insert(_entries.Count, new Entry(item, null, 0));

    /// <summary>Adds a reason formatted from <paramref name="source"/> when read.</summary>
    public void Add(IReasonSource source, int part) => Insert(_entries.Count, new Entry(null, source, part));

    public void Insert(int index, string item) => Insert(index, new Entry(item, null, 0));

    /// <summary>Inserts a reason formatted from <paramref name="source"/> when read.</summary>
    public void Insert(int index, IReasonSource source, int part) => Insert(index, new Entry(null, source, part));

    public void AddRange(IEnumerable<string> items)
    {
        foreach (var item in items)
        {
            Add(item);
        }
    }

    public void Clear()
    {
        _entries.Clear();
        _texts = null;
    }

    public bool Contains(string item) => Array.IndexOf(Texts(), item) >= 0;

    public void CopyTo(string[] array, int arrayIndex) => Texts().CopyTo(array, arrayIndex);

    public bool Remove(string item)
    {
        var index = Array.IndexOf(Texts(), item);
        if (index < 0)
        {
            return false;
        }

        _entries.RemoveAt(index);
        _texts = null;
        return true;
    }

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)Texts()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Insert(int index, Entry entry)
    {
        _entries.Insert(index, entry);
        _texts = null;
    }

    private string[] Texts()
    {
        if (_texts is { } texts)
        {
            return texts;
        }

        texts = new string[_entries.Count];
        for (var i = 0; i < texts.Length; i++)
        {
            var entry = _entries[i];
            texts[i] = entry.Text ?? entry.Source!.Reason(entry.Part);
        }

        _texts = texts;
        return texts;
    }

    private readonly record struct Entry(string? Text, IReasonSource? Source, int Part);
}
