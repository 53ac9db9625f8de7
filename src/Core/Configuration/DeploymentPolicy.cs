using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Configuration;

/// <summary>
/// What <c>ENVIRONMENT</c> changes. development and test run on embedded defaults (the simulated
/// provider on unless switched off, so one command runs anywhere); staging and production answer
/// real users, so the simulated provider is off unless <c>SIMULATED_ENABLED=true</c> is set on
/// purpose, and production refuses to start with no provider that can answer.
/// </summary>
internal static class DeploymentPolicy
{
    public const string SimulatedEnabledKey = "MonkeyCoder:Simulated:Enabled";

    private const string ProvidersSection = "MonkeyCoder:Providers";

    public static string Environment(IConfiguration configuration) =>
        configuration[HostingOptions.Section + ":Environment"] is { Length: > 0 } value ? value : "development";

    public static bool IsProduction(IConfiguration configuration) =>
        string.Equals(Environment(configuration), "production", StringComparison.OrdinalIgnoreCase);

    /// <summary>development and test: embedded defaults, one process, no real users.</summary>
    public static bool IsEmbeddedEnvironment(IConfiguration configuration) =>
        Environment(configuration).ToLowerInvariant() is "development" or "test";

    /// <summary>True when <c>SIMULATED_ENABLED</c> was set (to anything) rather than left at its default.</summary>
    public static bool SimulatedExplicitlySet(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[SimulatedEnabledKey]);

    /// <summary>
    /// <c>SIMULATED_ENABLED</c> when set; otherwise on in development and test, off in staging and
    /// production. A value that is not true/false is reported as a configuration error at start.
    /// </summary>
    public static bool SimulatedEnabled(IConfiguration configuration) =>
        SimulatedExplicitlySet(configuration)
            ? bool.TryParse(configuration[SimulatedEnabledKey], out var enabled) && enabled
            : IsEmbeddedEnvironment(configuration);

    /// <summary>True when production runs the simulated provider because an operator asked for it.</summary>
    public static bool SimulatedInProduction(IConfiguration configuration) =>
        IsProduction(configuration) && SimulatedEnabled(configuration);

    /// <summary>Providers under <c>MonkeyCoder:Providers</c> (other than simulated) with a key or a base URL: those get a client.</summary>
    public static IReadOnlyList<string> RealProviders(IConfiguration configuration) =>
        configuration.GetSection(ProvidersSection).GetChildren()
            .Where(s => !string.Equals(s.Key, "simulated", StringComparison.OrdinalIgnoreCase))
            .Where(s => !string.IsNullOrWhiteSpace(s["ApiKey"]) || !string.IsNullOrWhiteSpace(s["BaseUrl"]))
            .Select(s => s.Key)
            .ToList();

    /// <summary>Start-up refusals for this configuration, one message per problem (none outside production).</summary>
    public static IEnumerable<string> Refusals(IConfiguration configuration)
    {
        if (SimulatedExplicitlySet(configuration) && !bool.TryParse(configuration[SimulatedEnabledKey], out _))
        {
            yield return $"SIMULATED_ENABLED ({SimulatedEnabledKey}) must be true or false.";
        }

        if (!IsProduction(configuration))
        {
            yield break;
        }

        if (RealProviders(configuration).Count == 0 && !SimulatedEnabled(configuration))
        {
            yield return "no AI provider is configured and ENVIRONMENT is production: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY, "
                + "GROQ_API_KEY or XAI_API_KEY (MonkeyCoder:Providers:<name>:ApiKey, or a BaseUrl). The simulated provider "
                + $"(SIMULATED_ENABLED, {SimulatedEnabledKey}) answers with made-up text and is off in production unless SIMULATED_ENABLED=true is set on purpose.";
        }
    }
}

/// <summary>Runs <see cref="DeploymentPolicy.Refusals"/> with the other start-up validation, so they are reported the same way.</summary>
internal sealed class DeploymentPolicyValidator(IConfiguration configuration) : IValidateOptions<HostingOptions>
{
    public ValidateOptionsResult Validate(string? name, HostingOptions options)
    {
        var refusals = DeploymentPolicy.Refusals(configuration).ToList();
        return refusals.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(refusals);
    }
}
