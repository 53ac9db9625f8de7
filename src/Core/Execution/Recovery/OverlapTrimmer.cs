namespace MonkeyCoder.Core.Execution.Recovery;

/// <summary>
/// Drops from a continuation the longest prefix that repeats what the caller already has, so no
/// text reaches the caller twice. A model asked to continue may restart from the beginning, repeat
/// the last words, or continue exactly; the repeated part is the longest prefix of the continuation
/// that equals a suffix of <c>delivered</c>. To keep an exact continuation intact, a suffix counts
/// only when it is all of <c>delivered</c>, or starts at a word boundary of it and is at least
/// <see cref="MinOverlapChars"/> long (so "…functi" + "function" keeps one "function", while a
/// coincidental "s" is never dropped). Streaming: text is held back only while it could still be the
/// start of a longer repeat (it occurs inside <c>delivered</c>), then released at once.
/// </summary>
internal sealed class OverlapTrimmer(string delivered)
{
    /// <summary>Shortest partial overlap dropped. Defaults to 3 characters.</summary>
    public const int MinOverlapChars = 3;

    private readonly System.Text.StringBuilder _pending = new();
    private bool _decided = delivered.Length == 0;

    /// <summary>True once the repeated prefix is settled and text passes straight through.</summary>
    public bool Decided => _decided;

    /// <summary>The part of <paramref name="delta"/> (with text held back earlier) the caller may see now.</summary>
    public string Push(string delta)
    {
        if (_decided)
        {
            return delta;
        }

        _pending.Append(delta);
        var buffered = _pending.ToString();
        // Still a possible repeat of something inside the delivered text (not reaching its end): wait for more.
        if (buffered.Length < delivered.Length && delivered.AsSpan(0, delivered.Length - 1).IndexOf(buffered.AsSpan(), StringComparison.Ordinal) >= 0)
        {
            return "";
        }

        return Decide(buffered);
    }

    /// <summary>The held-back text at the end of the continuation (the final event came).</summary>
    public string Flush() => _decided ? "" : Decide(_pending.ToString());

    private string Decide(string buffered)
    {
        _decided = true;
        _pending.Clear();
        var overlap = RepeatedPrefix(delivered, buffered);
        return buffered[overlap..];
    }

    /// <summary>Length of the longest prefix of <paramref name="continuation"/> that repeats a qualifying suffix of <paramref name="delivered"/>.</summary>
    public static int RepeatedPrefix(string delivered, string continuation)
    {
        for (var k = Math.Min(delivered.Length, continuation.Length); k > 0; k--)
        {
            if (!Qualifies(delivered, k))
            {
                continue;
            }

            if (continuation.AsSpan(0, k).SequenceEqual(delivered.AsSpan(delivered.Length - k)))
            {
                return k;
            }
        }

        return 0;
    }

    private static bool Qualifies(string delivered, int k)
    {
        if (k == delivered.Length)
        {
            return true;
        }

        var start = delivered.Length - k;
        return k >= MinOverlapChars && char.IsWhiteSpace(delivered[start - 1]) && !char.IsWhiteSpace(delivered[start]);
    }
}
