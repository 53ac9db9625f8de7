using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The one token estimate admission charges a call with, whatever edge it came in on: every text the
/// mapped task sends (prompt, system prompt / custom instructions, history turns, file contents) at
/// ~4 characters per token, plus one, plus the output it allows (its max tokens, or
/// <c>MonkeyCoder:Limits:DefaultMaxTokens</c> when the caller named none). The token rate limit and the budget hold both start from it.
/// </summary>
internal static class AdmissionEstimate
{
    public static long Tokens(TaskRequest task, bool maxTokensNamed, int defaultMaxTokens)
    {
        long characters = task.Prompt.Length + task.CustomInstructions.Length;
        foreach (var turn in task.History)
        {
            characters += turn.Content.Length;
        }

        foreach (var file in task.Files)
        {
            characters += file.Content.Length;
        }

        return (characters / 4) + 1 + (maxTokensNamed ? task.MaxTokens : defaultMaxTokens);
    }
}
