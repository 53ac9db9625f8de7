using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Configuration;

/// <summary>
/// Turns the ways a bad setting stops start-up (options validation, a value the binder cannot
/// convert, a start-up refusal naming a setting) into one line per bad setting: the environment
/// variable, the configuration key, the value given (hidden for secrets) and what is allowed. The
/// hosts print these lines and exit with <see cref="ExitCode"/> instead of a stack trace.
/// </summary>
public static partial class ConfigurationErrors
{
    /// <summary>Exit code of a host that refused a configuration (sysexits' EX_USAGE is 64; 2 = "misuse", as shells use it).</summary>
    public const int ExitCode = 2;

    private const string Prefix = "monkey-coder: configuration error: ";

    /// <summary>True for an exception that reports a bad setting rather than a fault of the program.</summary>
    public static bool IsConfigurationError(Exception exception) => exception switch
    {
        OptionsValidationException => true,
        AggregateException aggregate => aggregate.Flatten().InnerExceptions.All(IsConfigurationError),
        InvalidOperationException e => ConvertFailure().IsMatch(e.Message) || SettingMessage().IsMatch(e.Message),
        _ => false,
    };

    /// <summary>Writes one line per bad setting to <paramref name="error"/>; returns <see cref="ExitCode"/>.</summary>
    public static int Report(Exception exception, IConfiguration configuration, TextWriter error)
    {
        foreach (var line in Describe(exception, configuration).Distinct(StringComparer.Ordinal))
        {
            error.WriteLine(Prefix + line);
        }

        error.Flush();
        return ExitCode;
    }

    /// <summary>The lines <see cref="Report"/> writes (without the prefix).</summary>
    public static IEnumerable<string> Describe(Exception exception, IConfiguration configuration)
    {
        switch (exception)
        {
            case AggregateException aggregate:
                foreach (var inner in aggregate.Flatten().InnerExceptions)
                {
                    foreach (var line in Describe(inner, configuration))
                    {
                        yield return line;
                    }
                }

                break;
            case OptionsValidationException validation:
                foreach (var failure in validation.Failures)
                {
                    yield return DescribeMessage(failure, validation.OptionsName, validation.OptionsType.Name, configuration);
                }

                break;
            default:
                var convert = ConvertFailure().Match(exception.Message);
                if (convert.Success)
                {
                    var key = convert.Groups["key"].Value;
                    yield return Line(key, configuration, Expected(convert.Groups["type"].Value));
                }
                else
                {
                    yield return DescribeMessage(exception.Message, null, null, configuration);
                }

                break;
        }
    }

    /// <summary>
    /// "LimitOptions.RequestsPerMinute: RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) must be …"
    /// → "RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) = "0": must be …".
    /// </summary>
    private static string DescribeMessage(string message, string? optionsName, string? optionsType, IConfiguration configuration)
    {
        // The validator generator ignores [Range]'s ErrorMessage (dotnet/runtime#123137) and says
        // "The field LimitOptions.RequestsPerMinute must be …": find the key the operator set.
        var field = FieldMessage().Match(message);
        if (field.Success && FindKey(field.Groups["owner"].Value, field.Groups["member"].Value, optionsName, optionsType, configuration) is { } found)
        {
            return Line(found, configuration, field.Groups["rest"].Value);
        }

        // The validator generator prefixes the options member ("RequestsPerMinute: "): the operator never set that.
        var text = MemberPrefix().Replace(message, string.Empty, 1);
        if (!string.IsNullOrEmpty(optionsName) && optionsName != Options.DefaultName)
        {
            text = text.Replace("<name>", optionsName, StringComparison.Ordinal);
        }

        var setting = SettingMessage().Match(text);
        if (!setting.Success)
        {
            return text;
        }

        var key = setting.Groups["key"].Value;
        var rest = setting.Groups["rest"].Value.Trim();
        return Line(key, configuration, rest);
    }

    /// <summary>
    /// The configuration key of an options member: a mapped variable's key, else a key present in
    /// the configuration, whose last segment is the member and whose section matches the options
    /// type (LimitOptions → Limits, ProviderEndpointOptions "openai" → Providers:openai).
    /// </summary>
    private static string? FindKey(string owner, string member, string? optionsName, string? optionsType, IConfiguration configuration)
    {
        var named = !string.IsNullOrEmpty(optionsName) && optionsName != Options.DefaultName && string.Equals(owner, optionsName, StringComparison.Ordinal);
        var stem = Stem(named ? optionsType ?? owner : owner);
        bool Matches(string key)
        {
            var parts = key.Split(':');
            if (parts.Length < 3 || parts[0] != "MonkeyCoder" || !string.Equals(parts[^1], member, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            var section = Stem(parts[1]);
            var sectionMatches = section.StartsWith(stem, StringComparison.OrdinalIgnoreCase) || stem.StartsWith(section, StringComparison.OrdinalIgnoreCase);
            return sectionMatches && (!named || (parts.Length == 4 && string.Equals(parts[2], optionsName, StringComparison.OrdinalIgnoreCase)));
        }

        if (!named && EnvironmentVariables.Map.Select(m => m.Key).Where(Matches).ToList() is [var mapped])
        {
            return mapped;
        }

        return configuration.AsEnumerable().Select(e => e.Key).Where(Matches).Order(StringComparer.Ordinal).FirstOrDefault();
    }

    /// <summary>"LimitOptions" → "Limit", "Limits" → "Limit", "SentrySettings" → "Sentry".</summary>
    private static string Stem(string name)
    {
        foreach (var suffix in new[] { "Options", "Settings" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
            {
                name = name[..^suffix.Length];
            }
        }

        return name.TrimEnd('s');
    }

    private static string Line(string key, IConfiguration configuration, string problem)
    {
        var value = configuration[key];
        var given = value is null ? "not set" : IsSecret(key) ? "set (value hidden)" : "\"" + Truncate(value) + "\"";
        return $"{VariableFor(key)} ({key}) = {given}: {problem}";
    }

    /// <summary>The flat variable mapped to <paramref name="key"/>, else the <c>MonkeyCoder__Section__Key</c> form that always works.</summary>
    public static string VariableFor(string key)
    {
        foreach (var (variable, mapped) in EnvironmentVariables.Map)
        {
            if (string.Equals(mapped, key, StringComparison.OrdinalIgnoreCase))
            {
                return variable;
            }
        }

        return key.Replace(":", "__", StringComparison.Ordinal);
    }

    private static bool IsSecret(string key)
    {
        var last = key[(key.LastIndexOf(':') + 1)..];
        return last.EndsWith("Key", StringComparison.OrdinalIgnoreCase)
            || last.Contains("Secret", StringComparison.OrdinalIgnoreCase)
            || last.Contains("Password", StringComparison.OrdinalIgnoreCase)
            || last.Contains("Token", StringComparison.OrdinalIgnoreCase)
            || last.Equals("Dsn", StringComparison.OrdinalIgnoreCase)
            // URLs may carry a password (postgresql://user:pass@…, redis://:pass@…).
            || last.EndsWith("Url", StringComparison.OrdinalIgnoreCase);
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    private static string Expected(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "must be a whole number (docs/configuration.md gives its range).",
        "System.Double" or "System.Single" or "System.Decimal" => "must be a number such as 0.5 (docs/configuration.md gives its range).",
        "System.Boolean" => "must be true or false.",
        "System.TimeSpan" => "must be a duration such as 00:00:30.",
        _ => "cannot be read as " + type + ".",
    };

    [GeneratedRegex(@"^Failed to convert configuration value(?: '[^']*')? at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex ConvertFailure();

    [GeneratedRegex(@"^(?:[A-Z][A-Z0-9_]* \()?(?<key>MonkeyCoder(?::[A-Za-z0-9_\-]+)+)\)?:? (?<rest>.+)$", RegexOptions.Singleline)]
    private static partial Regex SettingMessage();

    [GeneratedRegex(@"^(?:[\w.]+: )?The (?:field (?<owner>[\w\-]+)\.(?<member>\w+) (?<rest>must .+)|(?<owner>[\w\-]+)\.(?<member>\w+) field (?<rest>is required\.))$", RegexOptions.Singleline)]
    private static partial Regex FieldMessage();

    [GeneratedRegex(@"^[A-Za-z_][\w.]*: (?=[A-Z][A-Z0-9_]* \(MonkeyCoder:|MonkeyCoder:)")]
    private static partial Regex MemberPrefix();
}
