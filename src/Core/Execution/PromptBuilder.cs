using System.Text;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Turns a task into chat messages: a persona system prompt, prior turns, then the prompt with its files
/// and images. A conversation that ends with tool results (<see cref="TaskRequest.EndsWithToolResults"/>)
/// is sent as system + history: the results are the last turns, and no user prompt follows them.
/// </summary>
internal static class PromptBuilder
{
    public static IReadOnlyList<ChatMessage> Build(TaskRequest task, Persona persona) => Build(task, persona, null, null);

    /// <summary>
    /// Builds the messages for one model: session history is trimmed (oldest turns first) so the
    /// system prompt, history, prompt and max tokens fit <paramref name="model"/>'s context window.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Build(TaskRequest task, Persona persona, CatalogModel? model, TokenCounter? tokens)
    {
        var system = new ChatMessage(ChatRole.System, PersonaPrompts.SystemPrompt(persona, task.CustomInstructions)) { CacheBreakpoint = task.SystemCacheBreakpoint };
        ChatMessage? user = task.EndsWithToolResults ? null
            : new ChatMessage(ChatRole.User, UserPrompt(task)) { Images = task.PromptImages, CacheBreakpoint = task.PromptCacheBreakpoint };
        var history = task.History;
        if (history.Count > 0 && model is { ContextWindow: > 0 } && tokens is not null)
        {
            var answer = Math.Min(task.MaxTokens, model.MaxOutputTokens > 0 ? model.MaxOutputTokens : task.MaxTokens);
            var budget = model.ContextWindow - answer - tokens.Count(user is null ? [system] : [system, user]) - tokens.CountTools(task.Tools);
            history = Sessions.HistoryTrimmer.Trim(history, budget, tokens, keepLast: user is null);
        }

        var messages = new List<ChatMessage>(history.Count + 2) { system };
        messages.AddRange(history);
        if (user is not null)
        {
            messages.Add(user);
        }

        return messages;
    }

    public static string UserPrompt(TaskRequest task)
    {
        if (task.Files.Count == 0)
        {
            return task.Prompt;
        }

        var builder = new StringBuilder(task.Prompt.Length + task.Files.Sum(f => f.Content.Length + f.Path.Length + 16));
        builder.Append(task.Prompt);
        foreach (var file in task.Files)
        {
            builder.Append("\n\nFile: ").Append(file.Path).Append("\n```").Append(file.Type).Append('\n')
                .Append(file.Content).Append("\n```");
        }

        return builder.ToString();
    }
}
