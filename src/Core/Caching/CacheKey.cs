using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Caching;

/// <summary>
/// The response cache key: SHA-256 over a canonical form of everything that shapes the answer
/// (task, prompt, files, persona, commands, model choice, sampling, strategy, conversation history).
/// Field order and separators are fixed, so equal requests hash equally across replicas and versions.
/// With a <c>scope</c> (the caller's user id, unless <see cref="CacheOptions.SharedAcrossUsers"/>) the
/// same request of two users hashes differently, so one cannot learn what another sent.
/// </summary>
internal static class CacheKey
{
    /// <summary>Bump when the canonical form or the cached value's shape changes.</summary>
    public const string Version = "v1";

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
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()));
        return $"mc:cache:{Version}:{Convert.ToHexStringLower(hash)}";
    }

    /// <summary>Deterministic requests are cached; others only when the caller opts in.</summary>
    public static bool IsCacheable(TaskRequest task) =>
        !task.CacheBypass && (task.Temperature == 0 || task.CacheNondeterministic);
}
