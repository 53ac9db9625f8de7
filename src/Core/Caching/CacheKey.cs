using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Caching;

/// <summary>
/// The response cache key: SHA-256 over a canonical form of everything that shapes the answer
/// (task, prompt, files, images, persona, commands, model choice, sampling and format options, tools and
/// tool choice, strategy, conversation history with its tool calls and tool results).
/// Field order and separators are fixed, so equal requests hash equally across replicas and versions.
/// With a <c>scope</c> (the caller's user id, unless <see cref="CacheOptions.SharedAcrossUsers"/>) the
/// same request of two users hashes differently, so one cannot learn what another sent.
/// </summary>
internal static class CacheKey
{
    /// <summary>Bump when the canonical form or the cached value's shape changes.</summary>
    public const string Version = "v2";

    public static string For(TaskRequest task, string? scope = null)
    {
        var builder = new StringBuilder(task.Prompt.Length + 256);
        void Field(string name, string value) =>
            builder.Append(name).Append('=').Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('\n');

        if (scope is not null)
        {
            Field("scope", scope);
        }

        Field("task_type", ((int)task.TaskType).ToString(CultureInfo.InvariantCulture));
        Field("prompt", task.Prompt);
        foreach (var file in task.Files)
        {
            Field("file.path", file.Path);
            Field("file.type", file.Type);
            Field("file.content", file.Content);
        }

        Field("persona", ((int)task.Persona).ToString(CultureInfo.InvariantCulture));
        foreach (var command in task.SlashCommands.Order(StringComparer.Ordinal))
        {
            Field("command", command);
        }

        Field("custom_instructions", task.CustomInstructions);
        Field("max_tokens", task.MaxTokens.ToString(CultureInfo.InvariantCulture));
        Field("temperature", task.Temperature.ToString("R", CultureInfo.InvariantCulture));
        foreach (var provider in task.PreferredProviders)
        {
            Field("provider", provider.ToLowerInvariant());
        }

        foreach (var (provider, model) in task.ModelPreferences.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
        {
            Field("model." + provider.ToLowerInvariant(), model);
        }

        Field("strategy", ((int)task.Strategy).ToString(CultureInfo.InvariantCulture));
        Field("parallel", task.ParallelVariants.ToString(CultureInfo.InvariantCulture));
        Field("collapse", ((int)task.CollapseStrategy).ToString(CultureInfo.InvariantCulture));
        foreach (var persona in task.PipelinePersonas)
        {
            Field("pipeline", ((int)persona).ToString(CultureInfo.InvariantCulture));
        }

        foreach (var turn in task.History)
        {
            Field("turn." + turn.Role.ToString(), turn.Content);
            foreach (var image in turn.Images)
            {
                Image(image);
            }

            foreach (var call in turn.ToolCalls)
            {
                Field("turn.call.id", call.Id);
                Field("turn.call.name", call.Name);
                Field("turn.call.arguments", call.ArgumentsJson);
            }

            if (turn.Role == Providers.ChatRole.Tool)
            {
                Field("turn.result.id", turn.ToolCallId ?? "");
                Field("turn.result.name", turn.ToolName ?? "");
                Field("turn.result.error", turn.ToolError ? "1" : "0");
            }
        }

        Field("ends_with_tool_results", task.EndsWithToolResults ? "1" : "0");
        foreach (var image in task.PromptImages)
        {
            Image(image);
        }

        foreach (var tool in task.Tools)
        {
            Field("tool.name", tool.Name);
            Field("tool.description", tool.Description ?? "");
            Field("tool.parameters", tool.ParametersJsonSchema);
        }

        Field("tool_choice", ((int)task.ToolChoice.Kind).ToString(CultureInfo.InvariantCulture) + ":" + task.ToolChoice.Name);
        Field("parallel_tool_calls", task.ParallelToolCalls switch { null => "", true => "1", false => "0" });
        var sampling = task.Sampling;
        foreach (var stop in sampling.Stop)
        {
            Field("stop", stop);
        }

        Field("seed", sampling.Seed?.ToString(CultureInfo.InvariantCulture) ?? "");
        Field("top_p", sampling.TopP?.ToString("R", CultureInfo.InvariantCulture) ?? "");
        Field("presence_penalty", sampling.PresencePenalty?.ToString("R", CultureInfo.InvariantCulture) ?? "");
        Field("frequency_penalty", sampling.FrequencyPenalty?.ToString("R", CultureInfo.InvariantCulture) ?? "");
        if (sampling.ResponseFormat is { } format)
        {
            Field("response_format", ((int)format.Kind).ToString(CultureInfo.InvariantCulture) + (format.Strict ? ":strict" : ""));
            Field("response_format.name", format.SchemaName ?? "");
            Field("response_format.schema", format.SchemaJson ?? "");
        }

        Field("user", sampling.User ?? "");

        void Image(Providers.ImagePart image)
        {
            Field("image.url", image.Url ?? "");
            Field("image.media_type", image.MediaType ?? "");
            // Inline images are hashed on their own: megabytes of base64 need not be copied into the key's text.
            Field("image.data", image.Base64Data is { } data ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(data))) : "");
            Field("image.detail", image.Detail ?? "");
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()));
        return $"mc:cache:{Version}:{Convert.ToHexStringLower(hash)}";
    }

    /// <summary>Deterministic requests are cached; others only when the caller opts in.</summary>
    public static bool IsCacheable(TaskRequest task) =>
        !task.CacheBypass && (task.Temperature == 0 || task.CacheNondeterministic);
}
