using System.Globalization;
using System.Text.Json;
using MonkeyCoder.Cli.Errors;

namespace MonkeyCoder.Cli.Configuration;

/// <summary>
/// The user's settings file (config.json): a flat map of the keys in <see cref="Keys"/>. Never holds
/// secrets; the API key lives in the credentials file.
/// </summary>
internal static class ConfigFile
{
    public const string BaseUrl = "base-url";
    public const string Provider = "provider";
    public const string Model = "model";
    public const string Strategy = "strategy";
    public const string MaxTokens = "max-tokens";
    public const string Temperature = "temperature";

    /// <summary>Known keys with what they mean (shown by `config list`).</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>
    {
        [BaseUrl] = "Service address (default http://127.0.0.1:50051)",
        [Provider] = "Preferred provider for task commands",
        [Model] = "Preferred model (provider/model or a catalog id)",
        [Strategy] = "single | quantum | pipeline",
        [MaxTokens] = "Upper bound on generated tokens (1-200000)",
        [Temperature] = "Sampling temperature (0-2)",
    };

    public static SortedDictionary<string, string> Load()
    {
        var path = CliPaths.ConfigFile;
        if (!File.Exists(path))
        {
            return new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        try
        {
            var values = JsonSerializer.Deserialize(File.ReadAllText(path), CliJsonContext.Default.SortedDictionaryStringString);
            return values ?? new SortedDictionary<string, string>(StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.InvalidInput, $"reading {path} failed: it is not a JSON object of strings ({ex.Message}). Fix or delete the file.");
        }
    }

    public static string? Get(string key) => Load().TryGetValue(key, out var value) ? value : null;

    public static void Set(string key, string? value)
    {
        Validate(key, value);
        var values = Load();
        if (value is null)
        {
            values.Remove(key);
        }
        else
        {
            values[key] = value;
        }

        Directory.CreateDirectory(CliPaths.ConfigDirectory);
        var temp = CliPaths.ConfigFile + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(values, CliJsonContext.Default.SortedDictionaryStringString));
        File.Move(temp, CliPaths.ConfigFile, overwrite: true);
    }

    public static void Validate(string key, string? value)
    {
        if (!Keys.ContainsKey(key))
        {
            throw new CliException(ExitCodes.Usage, $"unknown setting '{key}'. Known settings: {string.Join(", ", Keys.Keys)}.");
        }

        if (value is null)
        {
            return;
        }

        var ok = key switch
        {
            BaseUrl => Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps),
            Strategy => value is "single" or "quantum" or "pipeline",
            MaxTokens => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 200_000,
            Temperature => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 2,
            _ => value.Length > 0,
        };
        if (!ok)
        {
            throw new CliException(ExitCodes.Usage, $"invalid value '{value}' for {key}: expected {Keys[key]}.");
        }
    }
}
