namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Test-only diagnostics. Section <c>MonkeyCoder:Diagnostics</c>. <see cref="EnableFaultInjection"/>
/// is refused at start when ENVIRONMENT is production.
/// </summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "MonkeyCoder:Diagnostics";

    /// <summary>
    /// When true (and ENVIRONMENT is not production), an Execute/StreamExecute/Route request whose
    /// prompt contains <see cref="FaultInjectionInterceptor.Marker"/> fails with an unexpected
    /// exception, to test the INTERNAL error path end to end (Sentry, logs, metrics). Defaults to false.
    /// </summary>
    public bool EnableFaultInjection { get; set; }
}
