using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Sessions;

/// <summary>
/// Fits a conversation into a model's context window: keeps the newest turns whose tokens (by the
/// real tokenizer, tool calls and images included) fit in what the window leaves after the system
/// prompt, the new prompt and the answer's max tokens. Drops whole units, oldest first: a unit is one
/// turn, except that an assistant turn with tool calls and the tool results after it are one unit, so
/// a tool call is never kept without its results nor a result without its call. The kept history
/// starts on a user turn when one is left, so it never opens with an orphaned answer.
/// </summary>
internal static class HistoryTrimmer
{
    /// <summary>
    /// The newest units of <paramref name="history"/> that fit <paramref name="budgetTokens"/>. With
    /// <paramref name="keepLast"/>, keeps the newest unit even when it alone exceeds the budget: a conversation that ends with tool
    /// results has no prompt after the history, so without it there would be nothing to answer (the
    /// provider's context-length error is then the honest answer).
    /// </summary>
    public static IReadOnlyList<ChatMessage> Trim(IReadOnlyList<ChatMessage> history, int budgetTokens, TokenCounter tokens, bool keepLast = false)
    {
        if (history.Count == 0)
        {
            return history;
        }

        var starts = UnitStarts(history);
        var used = 0;
        var keepFrom = history.Count;
        for (var u = starts.Count - 1; u >= 0; u--)
        {
            var end = u + 1 < starts.Count ? starts[u + 1] : history.Count;
            var cost = 0;
            for (var i = starts[u]; i < end; i++)
            {
                cost += Cost(history[i], tokens);
            }

            if (used + cost > budgetTokens && !(keepLast && keepFrom == history.Count))
            {
                break;
            }

            used += cost;
            keepFrom = starts[u];
        }

        // Start on a user turn so the kept history never opens with an orphaned answer; an agent's loop
        // (one user turn, then calls and results) may have none left, and then keeps its units as they are.
        var firstUser = keepFrom;
        while (firstUser < history.Count && history[firstUser].Role != ChatRole.User)
        {
            firstUser++;
        }

        if (firstUser < history.Count)
        {
            keepFrom = firstUser;
        }
        else if (!keepLast)
        {
            keepFrom = history.Count;
        }

        return keepFrom == 0 ? history : history.Skip(keepFrom).ToList();
    }

    /// <summary>Where each unit starts: every turn but a tool result starts one (results belong to the call before them).</summary>
    private static List<int> UnitStarts(IReadOnlyList<ChatMessage> history)
    {
        var starts = new List<int>(history.Count);
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Role != ChatRole.Tool || starts.Count == 0)
            {
                starts.Add(i);
            }
        }

        return starts;
    }

    /// <summary>One turn's tokens with the chat framing (the counter's per-message figure, without the per-request one).</summary>
    private static int Cost(ChatMessage message, TokenCounter tokens) => tokens.Count([message]) - tokens.Count(Array.Empty<ChatMessage>());
}
