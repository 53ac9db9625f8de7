using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The one token estimate admission charges a call with, whatever edge it came in on: every text the
/// mapped task sends (prompt, system prompt / custom instructions, history turns, file contents, tool
/// definitions, tool calls and tool results) at ~4 characters per token, plus
/// <see cref="Providers.TokenCounter.ImageTokens"/> per image, plus one, plus the output it allows (its max tokens, or
/// <c>MonkeyCoder:Limits:DefaultMaxTokens</c> when the caller named none). The token rate limit and the budget hold both start from it.
/// </summary>
internal static class AdmissionEstimate
{
    public static long Tokens(TaskRequest task, bool maxTokensNamed, int defaultMaxTokens)
    {
        long characters = task.Prompt.Length + task.CustomInstructions.Length;
        long images = task.PromptImages.Count;
        foreach (var turn in task.History)
        {
            characters += turn.Content.Length + (turn.ToolCallId?.Length ?? 0);
            foreach (var call in turn.ToolCalls)
            {
                characters += call.Id.Length + call.Name.Length + call.ArgumentsJson.Length;
            }

            images += turn.Images.Count;
        }

        foreach (var file in task.Files)
        {
            characters += file.Content.Length;
        }

        foreach (var tool in task.Tools)
        {
            characters += tool.Name.Length + (tool.Description?.Length ?? 0) + tool.ParametersJsonSchema.Length;
        }

        return (characters / 4) + 1 + (images * Providers.TokenCounter.ImageTokens) + (maxTokensNamed ? task.MaxTokens : defaultMaxTokens);
    }
}
