using System.CommandLine;
using MonkeyCoder.Cli.Errors;

namespace MonkeyCoder.Cli.Configuration;

/// <summary>
/// Settings every command shares, resolved once per run with the precedence
/// flag &gt; environment &gt; config/credentials file &gt; default.
/// </summary>
internal sealed record CliSettings(
    string BaseUrl,
    string BaseUrlSource,
    string? ApiKey,
    string ApiKeySource,
    bool Verbose,
    bool Json)
{
    public const string DefaultBaseUrl = "http://127.0.0.1:50051";
    public const string BaseUrlVariable = "MONKEY_CODER_BASE_URL";
    public const string ApiKeyVariable = "MONKEY_CODER_API_KEY";

    public static readonly Option<string?> BaseUrlOption = new("--base-url")
    {
        Description = $"Service address. Env {BaseUrlVariable}; config base-url; default {DefaultBaseUrl}",
        Recursive = true,
    };

    public static readonly Option<string?> ApiKeyOption = new("--api-key")
    {
        Description = $"API key or token, sent as 'authorization: Bearer'. Env {ApiKeyVariable}; else the credentials file",
        Recursive = true,
    };

    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show error details and timings",
        Recursive = true,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Machine-readable output (task commands and chat: one JSON event per line)",
        Recursive = true,
    };

    public static CliSettings From(ParseResult parse)
    {
        var (baseUrl, baseUrlSource) = Resolve(parse.GetValue(BaseUrlOption), BaseUrlVariable, () => ConfigFile.Get(ConfigFile.BaseUrl), DefaultBaseUrl);
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException(ExitCodes.Usage, $"invalid base URL '{baseUrl}' (from {baseUrlSource}): expected http://host:port or https://host:port.");
        }

        var (apiKey, apiKeySource) = Resolve(parse.GetValue(ApiKeyOption), ApiKeyVariable, () => Credentials.Load()?.ApiKey, null);
        return new CliSettings(baseUrl!.TrimEnd('/'), baseUrlSource, apiKey, apiKey is null ? "none" : apiKeySource, parse.GetValue(VerboseOption), parse.GetValue(JsonOption));
    }

    private static (string? Value, string Source) Resolve(string? flag, string variable, Func<string?> file, string? fallback)
    {
        if (!string.IsNullOrWhiteSpace(flag))
        {
            return (flag.Trim(), "flag");
        }

        var env = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return (env.Trim(), "env " + variable);
        }

        var fromFile = file();
        if (!string.IsNullOrWhiteSpace(fromFile))
        {
            return (fromFile.Trim(), "file");
        }

        return (fallback, "default");
    }
}
