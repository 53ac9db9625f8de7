namespace MonkeyCoder.Core.Observability;

/// <summary>The result of one probe. <see cref="Detail"/> is shown to operators: never a secret or a URL with a key.</summary>
internal readonly record struct ProbeResult(bool Healthy, string Detail)
{
    public static ProbeResult Ok(string detail = "ok") => new(true, detail);

    public static ProbeResult Failed(string detail) => new(false, detail);
}

/// <summary>
/// A cheap active check of one provider (e.g. GET /models with the provider's key), run in the
/// background every <see cref="ProbeOptions.IntervalSeconds"/>. Register implementations as
/// <c>IProviderProbe</c> singletons, or let the provider client implement it; a provider without a
/// probe is watched through passive signals only. A probe must not spend tokens.
/// </summary>
internal interface IProviderProbe
{
    /// <summary>The provider probed, e.g. "openai".</summary>
    string Provider { get; }

    /// <summary>Throwing counts as a failed probe (the exception type is the detail).</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken);
}
