using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Sessions;

/// <summary>
/// Fits a conversation into a model's context window: keeps the newest turns whose tokens (by the
/// real tokenizer) fit in what the window leaves after the system prompt, the new prompt and the
/// answer's max tokens. Drops whole turns, oldest first, and never splits a user/assistant pair.
/// </summary>
internal static class HistoryTrimmer
{
    /// <summary>Framing tokens chat APIs add per message.</summary>
    private const int PerMessageOverhead = 4;

    public static IReadOnlyList<ChatMessage> Trim(IReadOnlyList<ChatMessage> history, int budgetTokens, TokenCounter tokens)
    {
        if (history.Count == 0)
        {
            return history;
        }

        if (budgetTokens <= 0)
        {
            return [];
        }

        var used = 0;
        var keepFrom = history.Count;
        for (var i = history.Count - 1; i >= 0; i--)
        {
            var cost = tokens.Count(history[i].Content) + PerMessageOverhead;
            if (used + cost > budgetTokens)
            {
                break;
            }

            used += cost;
            keepFrom = i;
        }

        // Start on a user turn so the kept history never opens with an orphaned answer.
        while (keepFrom < history.Count && history[keepFrom].Role != ChatRole.User)
        {
            keepFrom++;
        }

        return keepFrom == 0 ? history : history.Skip(keepFrom).ToList();
    }
}
