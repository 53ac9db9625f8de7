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
    /// <summary>The credentials file's entry when it supplied the credential (a device-flow session is refreshed through it).</summary>
    public StoredCredentials? Stored { get; init; }

    /// <summary>Stored credentials that exist but belong to another service address (never sent elsewhere).</summary>
    public string? StoredForOtherUrl { get; init; }

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

        baseUrl = baseUrl!.TrimEnd('/');
        // Stored credentials are sent only to the service they were issued for.
        // The file is read only when no flag or variable gives a credential.
        StoredCredentials? stored = null;
        string? otherUrl = null;
        var (apiKey, apiKeySource) = Resolve(parse.GetValue(ApiKeyOption), ApiKeyVariable, () =>
        {
            stored = Credentials.Load();
            if (stored?.BaseUrl is { Length: > 0 } storedUrl && !string.Equals(storedUrl.TrimEnd('/'), baseUrl, StringComparison.OrdinalIgnoreCase))
            {
                otherUrl = storedUrl;
                stored = null;
            }

            return stored?.Bearer;
        }, null);
        return new CliSettings(baseUrl, baseUrlSource, apiKey, apiKey is null ? "none" : apiKeySource, parse.GetValue(VerboseOption), parse.GetValue(JsonOption))
        {
            Stored = apiKeySource == "file" ? stored : null,
            StoredForOtherUrl = otherUrl,
        };
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
