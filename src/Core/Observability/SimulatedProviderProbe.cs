using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Observability;

/// <summary>The simulated provider lives in-process: its probe checks the tokenizer it generates with still works.</summary>
internal sealed class SimulatedProviderProbe(TokenCounter tokens) : IProviderProbe
{
    public string Provider => Providers.Simulated.SimulatedProvider.Name;

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(tokens.Count("probe") > 0 ? ProbeResult.Ok("in-process") : ProbeResult.Failed("tokenizer returned no tokens"));
}
