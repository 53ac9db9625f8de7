using System.CommandLine;
using System.Globalization;
using System.Text;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Connection;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Tasks;

/// <summary>
/// The options a task command (and `route`, `chat`) shares, and how they become an ExecuteRequest.
/// Settings not given on the command line fall back to config.json (provider, model, strategy,
/// max-tokens, temperature), then to the server's defaults.
/// </summary>
internal sealed class TaskOptions
{
    /// <summary>The service accepts at most 64 files with 1 MiB of content in all.</summary>
    public const int MaxFiles = 64;
    public const long MaxFileBytes = 1024 * 1024;

    public Argument<string?> Prompt { get; } = new("prompt")
    {
        Description = "What to do. Omit it (or pass -) to read the prompt from stdin",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public Option<FileInfo[]> Files { get; } = new("--file", "-f")
    {
        Description = "Attach a file's contents (repeatable; at most 64 files, 1 MiB in all)",
        Arity = ArgumentArity.OneOrMore,
    };

    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "Use exactly this model (then its catalog fallbacks and --fallback): provider/model or a catalog id or alias",
    };

    public Option<string[]> Fallbacks { get; } = new("--fallback")
    {
        Description = "A model to try if the others fail (repeatable, at most 8): provider/model or a catalog id or alias",
        Arity = ArgumentArity.OneOrMore,
    };

    public Option<string?> Provider { get; } = new("--provider", "-p") { Description = "Prefer this provider, e.g. openai, anthropic, simulated" };

    public Option<string?> Strategy { get; } = new("--strategy", "-s") { Description = "How to run the plan: single | quantum | pipeline" };

    public Option<int?> MaxTokens { get; } = new("--max-tokens") { Description = "Upper bound on generated tokens (1-200000)" };

    public Option<double?> Temperature { get; } = new("--temperature", "-t") { Description = "Sampling temperature (0-2)" };

    public TaskOptions()
    {
        Strategy.AcceptOnlyFromAmong("single", "quantum", "pipeline");
        Files.AllowMultipleArgumentsPerToken = false;
        Fallbacks.AllowMultipleArgumentsPerToken = false;
        MaxTokens.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 or > 200_000)
            {
                r.AddError("--max-tokens must be between 1 and 200000.");
            }
        });
        Temperature.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is < 0 or > 2)
            {
                r.AddError("--temperature must be between 0 and 2.");
            }
        });
    }

    public void AddTo(Command command, bool withPrompt = true)
    {
        if (withPrompt)
        {
            command.Arguments.Add(Prompt);
            command.Options.Add(Files);
        }

        command.Options.Add(Model);
        command.Options.Add(Fallbacks);
        command.Options.Add(Provider);
        command.Options.Add(Strategy);
        command.Options.Add(MaxTokens);
        command.Options.Add(Temperature);
    }

    public string ReadPrompt(ParseResult parse)
    {
        var prompt = parse.GetValue(Prompt);
        if (prompt is null or "-")
        {
            if (!Console.IsInputRedirected)
            {
                throw new CliException(ExitCodes.Usage, "no prompt: give it as an argument, e.g. monkey implement \"fizzbuzz in python\", or pipe it on stdin.");
            }

            prompt = Console.In.ReadToEnd();
        }

        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw new CliException(ExitCodes.InvalidInput, "the prompt is empty: say what the task is.");
        }

        return prompt;
    }

    /// <summary>Builds the request: files read and size-checked here, before anything is sent.</summary>
    public async Task<ExecuteRequest> BuildAsync(ParseResult parse, TaskKind kind, string prompt, ServiceConnection connection, CancellationToken cancellationToken)
    {
        var request = new ExecuteRequest { TaskType = kind.TaskType, Prompt = prompt, Persona = kind.Persona };
        foreach (var file in await ReadFilesAsync(parse.GetValue(Files) ?? [], cancellationToken))
        {
            request.Files.Add(file);
        }

        var config = ConfigFile.Load();
        var maxTokens = parse.GetValue(MaxTokens) ?? ParseConfig(config, ConfigFile.MaxTokens, s => int.Parse(s, CultureInfo.InvariantCulture));
        if (maxTokens is { } max)
        {
            request.MaxTokens = max;
        }

        var temperature = parse.GetValue(Temperature) ?? ParseConfig(config, ConfigFile.Temperature, s => double.Parse(s, CultureInfo.InvariantCulture));
        if (temperature is { } t)
        {
            request.Temperature = t;
        }

        var strategy = parse.GetValue(Strategy) ?? config.GetValueOrDefault(ConfigFile.Strategy);
        if (strategy is not null)
        {
            request.StrategyOptions = new StrategyOptions
            {
                Strategy = strategy switch
                {
                    "single" => V1.Strategy.Single,
                    "quantum" => V1.Strategy.Quantum,
                    "pipeline" => V1.Strategy.Pipeline,
                    _ => throw new CliException(ExitCodes.Usage, $"invalid strategy '{strategy}': use single, quantum or pipeline."),
                },
            };
        }

        // --model pins the model (the service resolves ids, aliases and provider/id, and answers NOT_FOUND
        // for an unknown one); the configured default model stays a preference the router may pass over.
        var provider = parse.GetValue(Provider) ?? config.GetValueOrDefault(ConfigFile.Provider);
        if (parse.GetValue(Model) is { Length: > 0 } pinned)
        {
            request.Model = pinned;
        }

        request.Fallbacks.AddRange(parse.GetValue(Fallbacks) ?? []);
        var model = request.Model.Length > 0 ? null : config.GetValueOrDefault(ConfigFile.Model);
        if (model is not null)
        {
            var slash = model.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0)
            {
                provider ??= model[..slash];
                model = model[(slash + 1)..];
            }

            provider ??= await FindProviderOfAsync(connection, model, cancellationToken);
            request.ModelPreferences[provider] = model;
        }

        if (provider is not null)
        {
            request.PreferredProviders.Add(provider);
        }

        return request;
    }

    private static T? ParseConfig<T>(IReadOnlyDictionary<string, string> config, string key, Func<string, T> parse)
        where T : struct
    {
        if (!config.TryGetValue(key, out var text))
        {
            return null;
        }

        try
        {
            return parse(text);
        }
        catch (FormatException)
        {
            throw new CliException(ExitCodes.Usage, $"config setting {key}='{text}' is invalid. Fix it with `monkey config set {key} VALUE`.");
        }
    }

    private static async Task<string> FindProviderOfAsync(ServiceConnection connection, string model, CancellationToken cancellationToken)
    {
        var models = await connection.Models.ListModelsAsync(new ListModelsRequest { IncludeDeprecated = true }, cancellationToken: cancellationToken);
        var match = models.Models.FirstOrDefault(m => string.Equals(m.Id, model, StringComparison.OrdinalIgnoreCase))
            ?? models.Models.FirstOrDefault(m => m.Aliases.Contains(model, StringComparer.OrdinalIgnoreCase));
        return match?.Provider ?? throw new CliException(
            ExitCodes.InvalidInput,
            $"unknown model '{model}': no enabled provider offers it. Run `monkey models` to see the catalog, or pass provider/model.");
    }

    public static async Task<IReadOnlyList<SourceFile>> ReadFilesAsync(IReadOnlyList<FileInfo> files, CancellationToken cancellationToken)
    {
        if (files.Count > MaxFiles)
        {
            throw new CliException(ExitCodes.InvalidInput, $"too many files: {files.Count} given, the service accepts at most {MaxFiles}.");
        }

        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var result = new List<SourceFile>(files.Count);
        long total = 0;
        foreach (var file in files)
        {
            if (!file.Exists)
            {
                throw new CliException(ExitCodes.InvalidInput, $"cannot attach {file.FullName}: no such file.");
            }

            total += file.Length;
            if (total > MaxFileBytes)
            {
                throw new CliException(ExitCodes.InvalidInput,
                    $"cannot attach {file.Name}: the files add up to more than 1 MiB ({total:N0} bytes so far). Attach fewer or smaller files.");
            }

            var bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
            string content;
            try
            {
                content = strict.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new CliException(ExitCodes.InvalidInput, $"cannot attach {file.Name}: it is not UTF-8 text.");
            }

            if (content.Contains('\0', StringComparison.Ordinal))
            {
                throw new CliException(ExitCodes.InvalidInput, $"cannot attach {file.Name}: it looks binary (contains NUL bytes).");
            }

            result.Add(new SourceFile { Path = Path.GetRelativePath(Environment.CurrentDirectory, file.FullName), Content = content, Type = LanguageOf(file.Extension) });
        }

        return result;
    }

    private static string LanguageOf(string extension) => extension.ToLowerInvariant() switch
    {
        ".py" => "python",
        ".cs" => "csharp",
        ".js" or ".mjs" or ".cjs" => "javascript",
        ".ts" or ".tsx" => "typescript",
        ".go" => "go",
        ".rs" => "rust",
        ".java" => "java",
        ".kt" => "kotlin",
        ".rb" => "ruby",
        ".php" => "php",
        ".c" or ".h" => "c",
        ".cpp" or ".cc" or ".hpp" => "cpp",
        ".sh" => "bash",
        ".sql" => "sql",
        ".md" => "markdown",
        ".json" => "json",
        ".yaml" or ".yml" => "yaml",
        ".toml" => "toml",
        ".html" => "html",
        ".css" => "css",
        ".proto" => "protobuf",
        _ => "",
    };
}
