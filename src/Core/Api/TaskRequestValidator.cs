using System.Globalization;
using Google.Rpc;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// Validates an <see cref="ExecuteRequest"/> and normalizes it into a <see cref="TaskRequest"/>.
/// Collects every violation, then throws one INVALID_ARGUMENT with a BadRequest listing them.
/// </summary>
internal sealed class TaskRequestValidator(ModelCatalog catalog)
{
    public const int MaxPromptChars = 200_000;
    public const int MaxFiles = 64;
    public const int MaxFileBytes = 1024 * 1024;
    public const int MaxIdLength = 128;

    public const int MaxModelNameChars = 256;

    public TaskRequest Validate(ExecuteRequest request) => ValidateCall(request).Task;

    /// <summary>
    /// The task and the caller's model pin (<c>model</c>, empty to route) and <c>fallbacks</c>, which
    /// <see cref="Routing.ModelPinResolver"/> resolves against the caller's allow-list.
    /// </summary>
    public (TaskRequest Task, string Model, IReadOnlyList<string> Fallbacks) ValidateCall(ExecuteRequest request)
    {
        var violations = new List<BadRequest.Types.FieldViolation>();
        void Violation(string field, string description) =>
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

        if (request.TaskType == TaskType.Unspecified)
        {
            Violation("task_type", "Required: one of code_generation, code_analysis, code_review, documentation, testing, debugging, refactoring, custom, chat.");
        }
        else if (!Enum.IsDefined(request.TaskType))
        {
            Violation("task_type", $"Unknown task type {(int)request.TaskType}.");
        }

        long imageBytes = 0;
        var conversation = request.Messages.Count > 0 ? ConversationValidator.Messages(request, ref imageBytes, Violation) : null;
        var (prompt, commands) = conversation is null ? SplitSlashCommands(request.Prompt ?? "") : (conversation.Prompt, []);
        foreach (var command in request.SlashCommands)
        {
            var normalized = command.StartsWith('/') ? command.ToLowerInvariant() : "/" + command.ToLowerInvariant();
            commands.Add(normalized);
        }

        for (var i = 0; i < commands.Count; i++)
        {
            if (!TaskAnalyzer.KnownSlashCommands.Contains(commands[i]))
            {
                Violation("slash_commands", $"Unknown slash command '{commands[i]}'. Known: {string.Join(", ", TaskAnalyzer.KnownSlashCommands.Order(StringComparer.Ordinal))}.");
            }
        }

        if (conversation is null && string.IsNullOrWhiteSpace(prompt))
        {
            Violation("prompt", "Required: the instruction for the model must not be empty.");
        }
        else if (prompt.Length > MaxPromptChars)
        {
            Violation("prompt", string.Create(CultureInfo.InvariantCulture, $"At most {MaxPromptChars} characters; got {prompt.Length}."));
        }

        if (request.Files.Count > MaxFiles)
        {
            Violation("files", string.Create(CultureInfo.InvariantCulture, $"At most {MaxFiles} files; got {request.Files.Count}."));
        }

        long fileBytes = 0;
        for (var i = 0; i < request.Files.Count; i++)
        {
            var file = request.Files[i];
            if (string.IsNullOrWhiteSpace(file.Path))
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"files[{i}].path"), "Required.");
            }

            fileBytes += System.Text.Encoding.UTF8.GetByteCount(file.Content);
        }

        if (fileBytes > MaxFileBytes)
        {
            Violation("files", string.Create(CultureInfo.InvariantCulture, $"At most {MaxFileBytes} bytes of content in all; got {fileBytes}."));
        }

        if (request.HasMaxTokens && (request.MaxTokens < 1 || request.MaxTokens > TaskRequest.MaxMaxTokens))
        {
            Violation("max_tokens", string.Create(CultureInfo.InvariantCulture, $"Must be between 1 and {TaskRequest.MaxMaxTokens}; got {request.MaxTokens}."));
        }

        if (request.HasTemperature && (double.IsNaN(request.Temperature) || request.Temperature < 0 || request.Temperature > 2))
        {
            Violation("temperature", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 2; got {request.Temperature}."));
        }

        if (!Enum.IsDefined(request.Persona))
        {
            Violation("persona", $"Unknown persona {(int)request.Persona}.");
        }

        for (var i = 0; i < request.PreferredProviders.Count; i++)
        {
            if (catalog.FindProvider(request.PreferredProviders[i]) is null)
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"preferred_providers[{i}]"), $"Unknown provider '{request.PreferredProviders[i]}'.");
            }
        }

        foreach (var (provider, model) in request.ModelPreferences)
        {
            if (catalog.FindProvider(provider) is null)
            {
                Violation($"model_preferences[{provider}]", $"Unknown provider '{provider}'.");
            }
            else if (catalog.Find(model, provider) is not { } found || !string.Equals(found.Provider, provider, StringComparison.OrdinalIgnoreCase))
            {
                Violation($"model_preferences[{provider}]", $"Provider '{provider}' has no model '{model}' in the catalog.");
            }
        }

        var options = request.StrategyOptions ?? new StrategyOptions();
        if (!Enum.IsDefined(options.Strategy))
        {
            Violation("strategy_options.strategy", $"Unknown strategy {(int)options.Strategy}.");
        }

        if (options.ParallelVariants is < 0 or > 10)
        {
            Violation("strategy_options.parallel_variants", string.Create(CultureInfo.InvariantCulture, $"Must be between 1 and 10; got {options.ParallelVariants}."));
        }

        if (options.HasConsensusThreshold && options.ConsensusThreshold is < 0 or > 1)
        {
            Violation("strategy_options.consensus_threshold", "Must be between 0 and 1.");
        }

        if (request.SessionId.Length > MaxIdLength)
        {
            Violation("session_id", string.Create(CultureInfo.InvariantCulture, $"At most {MaxIdLength} characters."));
        }

        if (request.TaskId.Length > MaxIdLength)
        {
            Violation("task_id", string.Create(CultureInfo.InvariantCulture, $"At most {MaxIdLength} characters."));
        }

        if (!Enum.IsDefined(request.Objective))
        {
            Violation("objective", $"Unknown routing objective {(int)request.Objective}.");
        }

        if (request.HasMaxCostUsd && !(request.MaxCostUsd > 0 && double.IsFinite(request.MaxCostUsd)))
        {
            Violation("max_cost_usd", "Must be a positive number of US dollars.");
        }

        var promptImages = conversation?.PromptImages ?? ConversationValidator.Images(request.Images, "images", ref imageBytes, Violation);
        if (imageBytes > ConversationValidator.MaxTotalImageBytes)
        {
            Violation(conversation is null ? "images" : "messages", string.Create(CultureInfo.InvariantCulture, $"At most {ConversationValidator.MaxTotalImageBytes} bytes of images in all; got {imageBytes}."));
        }

        var tools = ConversationValidator.Tools(request, Violation);
        var toolChoice = ConversationValidator.Choice(request, tools, Violation);
        var sampling = ConversationValidator.Sampling(request, Violation);
        var fallbacks = ConversationValidator.Fallbacks(request, Violation);
        if (request.Model.Length > MaxModelNameChars)
        {
            Violation("model", string.Create(CultureInfo.InvariantCulture, $"At most {MaxModelNameChars} characters."));
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        // A conversation's system turns are the caller's instructions, as on the OpenAI edge.
        var instructions = conversation is { System.Length: > 0 }
            ? string.Join("\n\n", new[] { request.CustomInstructions, conversation.System }.Where(s => s.Length > 0))
            : request.CustomInstructions;
        var persona = conversation is { System.Length: > 0 } && request.Persona == Persona.Unspecified ? Persona.Custom : request.Persona;
        var task = new TaskRequest
        {
            TaskType = request.TaskType,
            Prompt = prompt,
            Files = request.Files.Select(f => new TaskFile(f.Path, f.Content, f.Type)).ToList(),
            Persona = persona,
            SlashCommands = commands.Distinct(StringComparer.Ordinal).ToList(),
            MaxTokens = request.HasMaxTokens ? request.MaxTokens : TaskRequest.DefaultMaxTokens,
            Temperature = request.HasTemperature ? request.Temperature : TaskRequest.DefaultTemperature,
            TemperatureSet = request.HasTemperature,
            PreferredProviders = request.PreferredProviders.ToList(),
            ModelPreferences = new Dictionary<string, string>(request.ModelPreferences, StringComparer.OrdinalIgnoreCase),
            Strategy = options.Strategy,
            ParallelVariants = options.ParallelVariants,
            CollapseStrategy = options.CollapseStrategy,
            PipelinePersonas = options.PipelinePersonas.ToList(),
            ConsensusThreshold = options.HasConsensusThreshold ? options.ConsensusThreshold : 0.7,
            SessionId = request.SessionId,
            TaskId = request.TaskId,
            CustomInstructions = instructions,
            CacheBypass = request.Cache?.Bypass ?? false,
            CacheNondeterministic = request.Cache?.AllowNondeterministic ?? false,
            Objective = request.Objective,
            MaxCostUsd = request.HasMaxCostUsd ? request.MaxCostUsd : null,
            History = conversation?.History ?? [],
            PromptImages = promptImages,
            EndsWithToolResults = conversation?.EndsWithToolResults ?? false,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = request.HasParallelToolCalls ? request.ParallelToolCalls : null,
            Sampling = sampling,
        };
        return (task, request.Model.Trim(), fallbacks);
    }

    /// <summary>Splits leading known "/word" commands off the prompt: "/arch /sec design X" → ("design X", [/arch, /sec]).</summary>
    internal static (string Prompt, List<string> Commands) SplitSlashCommands(string prompt)
    {
        var commands = new List<string>();
        var span = prompt.AsSpan().TrimStart();
        while (span.Length > 1 && span[0] == '/' && char.IsLetter(span[1]))
        {
            var end = span.IndexOfAny(' ', '\n', '\t');
            var word = (end < 0 ? span : span[..end]).ToString().ToLowerInvariant();
            if (!TaskAnalyzer.KnownSlashCommands.Contains(word))
            {
                // "/etc/hosts is wrong" starts with a path, not a command.
                break;
            }

            commands.Add(word);
            span = end < 0 ? [] : span[end..].TrimStart();
        }

        return (commands.Count == 0 ? prompt : span.ToString(), commands);
    }
}
