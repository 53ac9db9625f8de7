namespace MonkeyCoder.Core.Observability;

/// <summary>GET a configured URL (<see cref="ProbeOptions.Urls"/>); any 2xx is healthy.</summary>
internal sealed class HttpEndpointProbe(string provider, Uri url, HttpClient http) : IProviderProbe
{
    public string Provider => provider;

    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var code = (int)response.StatusCode;
        return response.IsSuccessStatusCode ? ProbeResult.Ok($"HTTP {code}") : ProbeResult.Failed($"HTTP {code}");
    }
}
