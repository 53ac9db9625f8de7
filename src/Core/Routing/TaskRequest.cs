using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// A validated, normalized task: what the router and the executor work from. Built from an
/// <see cref="ExecuteRequest"/> by <c>Api.TaskRequestValidator</c> (or by the OpenAI-compatible edge).
/// </summary>
internal sealed record TaskRequest
{
    public required TaskType TaskType { get; init; }

    /// <summary>The prompt with leading slash commands removed.</summary>
    public required string Prompt { get; init; }

    public IReadOnlyList<TaskFile> Files { get; init; } = [];

    /// <summary>Unspecified lets the router choose.</summary>
    public Persona Persona { get; init; }

    /// <summary>Normalized to lower case with the leading slash, e.g. "/arch".</summary>
    public IReadOnlyList<string> SlashCommands { get; init; } = [];

    /// <summary>Defaults to 4096.</summary>
    public int MaxTokens { get; init; } = DefaultMaxTokens;

    /// <summary>Defaults to 0.1.</summary>
    public double Temperature { get; init; } = DefaultTemperature;

    /// <summary>True when the caller set a temperature explicitly.</summary>
    public bool TemperatureSet { get; init; }

    public IReadOnlyList<string> PreferredProviders { get; init; } = [];

    /// <summary>Provider → model id.</summary>
    public IReadOnlyDictionary<string, string> ModelPreferences { get; init; } = new Dictionary<string, string>();

    public Strategy Strategy { get; init; }

    public int ParallelVariants { get; init; }

    public CollapseStrategy CollapseStrategy { get; init; }

    public IReadOnlyList<Persona> PipelinePersonas { get; init; } = [];

    public double ConsensusThreshold { get; init; } = 0.7;

    public string SessionId { get; init; } = "";

    public string TaskId { get; init; } = "";

    public string CustomInstructions { get; init; } = "";

    /// <summary>Neither read nor write the response cache, nor join an in-flight identical call.</summary>
    public bool CacheBypass { get; init; }

    /// <summary>Cache even though temperature &gt; 0.</summary>
    public bool CacheNondeterministic { get; init; }
    /// <summary>What routing optimizes besides capability. Unspecified means balanced.</summary>
    public RoutingObjective Objective { get; init; }

    /// <summary>The caller's budget for this task in USD, or null for none.</summary>
    public double? MaxCostUsd { get; init; }

    /// <summary>The caller's key allow-list (models/providers); null = any. Set by the edges from the caller, never from the request.</summary>
    public IReadOnlyList<string>? AllowedModels { get; init; }

    /// <summary>Prior turns of a session, oldest first (filled by the session store).</summary>
    public IReadOnlyList<Providers.ChatMessage> History { get; init; } = [];

    /// <summary>Images sent with the prompt (the last user turn).</summary>
    public IReadOnlyList<Providers.ImagePart> PromptImages { get; init; } = [];

    /// <summary>
    /// True when the conversation ends with tool results rather than a user prompt: <see cref="History"/>
    /// holds every turn, its last ones the <see cref="Providers.ChatRole.Tool"/> results, and
    /// <see cref="Prompt"/> (empty or the last user text, for analysis only) is not sent again.
    /// </summary>
    public bool EndsWithToolResults { get; init; }

    /// <summary>A prompt-cache breakpoint after the system prompt (Anthropic <c>cache_control</c> on a system block).</summary>
    public bool SystemCacheBreakpoint { get; init; }

    /// <summary>A prompt-cache breakpoint after the prompt turn itself (where agents put their last one).</summary>
    public bool PromptCacheBreakpoint { get; init; }

    /// <summary>Functions the model may call; empty when the caller offered none.</summary>
    public IReadOnlyList<Providers.ToolDefinition> Tools { get; init; } = [];

    public Providers.ToolChoice ToolChoice { get; init; } = Providers.ToolChoice.Auto;

    public bool? ParallelToolCalls { get; init; }

    /// <summary>Stop sequences, seed, top_p, penalties, response format, end-user id.</summary>
    public Providers.SamplingOptions Sampling { get; init; } = Providers.SamplingOptions.None;

    /// <summary>What a model must support to answer this task (tools, images, seed, penalties, JSON formats).</summary>
    public Providers.RequestFeatures RequiredFeatures
    {
        get
        {
            var features = Providers.RequestFeatures.None;
            if (Tools.Count > 0 || History.Any(m => m.HasToolCalls || m.Role == Providers.ChatRole.Tool))
            {
                features |= Providers.RequestFeatures.Tools;
            }

            if (PromptImages.Count > 0 || History.Any(m => m.Images.Count > 0))
            {
                features |= Providers.RequestFeatures.Images;
            }

            if (Sampling.Seed is not null)
            {
                features |= Providers.RequestFeatures.Seed;
            }

            if (Sampling.PresencePenalty is not null || Sampling.FrequencyPenalty is not null)
            {
                features |= Providers.RequestFeatures.Penalties;
            }

            features |= Sampling.ResponseFormat?.Kind switch
            {
                Providers.ResponseFormatKind.JsonObject => Providers.RequestFeatures.JsonObject,
                Providers.ResponseFormatKind.JsonSchema => Providers.RequestFeatures.JsonSchema,
                _ => Providers.RequestFeatures.None,
            };
            return features;
        }
    }

    public const int DefaultMaxTokens = 4096;
    public const int MaxMaxTokens = 200_000;
    public const double DefaultTemperature = 0.1;
}

internal sealed record TaskFile(string Path, string Content, string Type);
