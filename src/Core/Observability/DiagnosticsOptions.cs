namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Test-only diagnostics. Section <c>MonkeyCoder:Diagnostics</c>. <see cref="EnableTestHooks"/>
/// is refused at start when ENVIRONMENT is production.
/// </summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "MonkeyCoder:Diagnostics";

    /// <summary>
    /// The one switch of the test hooks (Hosting/TestHooks.cs), refused when ENVIRONMENT is production: an
    /// Execute/StreamExecute/Route request whose prompt contains the fault marker `[[monkeycoder-test-fault:internal]]`
    /// fails with an unexpected exception, to test the INTERNAL error path end to end (Sentry, logs, metrics). Defaults to false.
    /// </summary>
    public bool EnableTestHooks { get; set; }
}
