using Microsoft.Extensions.Configuration;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// The hooks the end-to-end tests need inside the shipped binary, behind ONE switch:
/// <c>MonkeyCoder:Diagnostics:EnableTestHooks</c> (<see cref="DiagnosticsOptions.EnableTestHooks"/>),
/// refused at start when ENVIRONMENT is production. Off, the product has neither hook: no fault step
/// in the <see cref="CallPipeline"/>, and the bootstrap admin key is printed to stdout.
/// <list type="bullet">
/// <item><see cref="FaultInjection"/>: a prompt carrying <see cref="FaultInjectionStep.Marker"/> fails with an unexpected exception.</item>
/// <item><see cref="BootstrapOutput"/>: where the bootstrap admin key is printed (a test captures it in process).</item>
/// </list>
/// </summary>
internal sealed class TestHooks
{
    /// <summary>The configuration key of the one switch.</summary>
    public const string Switch = DiagnosticsOptions.Section + ":" + nameof(DiagnosticsOptions.EnableTestHooks);

    /// <summary>No hooks: what production runs.</summary>
    public static readonly TestHooks Off = new(false, null);

    private TestHooks(bool enabled, TextWriter? bootstrapOutput)
    {
        Enabled = enabled;
        FaultInjection = enabled ? new FaultInjectionStep() : null;
        BootstrapOutput = enabled && bootstrapOutput is not null ? bootstrapOutput : Console.Out;
    }

    public bool Enabled { get; }

    /// <summary>The fault step, or null when the hooks are off.</summary>
    public FaultInjectionStep? FaultInjection { get; }

    /// <summary>Where the generated bootstrap admin key is printed: stdout unless a test gave its own writer.</summary>
    public TextWriter BootstrapOutput { get; }

    /// <summary>The hooks the configuration asks for; throws when they are asked for in production.</summary>
    public static TestHooks From(IConfiguration configuration)
    {
        if (!configuration.GetValue(Switch, false))
        {
            return Off;
        }

        var environment = configuration[HostingOptions.Section + ":Environment"] ?? "development";
        if (string.Equals(environment, "production", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{Switch} is a test-only setting and cannot be enabled when ENVIRONMENT is production.");
        }

        return new TestHooks(true, null);
    }

    /// <summary>Hooks for a test running Core in process, printing the bootstrap key to <paramref name="bootstrapOutput"/>.</summary>
    public static TestHooks ForTests(TextWriter? bootstrapOutput = null) => new(true, bootstrapOutput);
}
