namespace MonkeyCoder.Core.Providers;

/// <summary>
/// One upstream wire protocol. Implementations turn a provider-neutral request into the
/// provider's HTTP call and its answer back, classify every failure as a
/// <see cref="ProviderException"/>, and end the upstream request as soon as the token fires.
/// </summary>
internal interface IProviderClient
{
    /// <summary>The provider this client calls, e.g. "openai" or "simulated".</summary>
    string Provider { get; }

    /// <summary>The upstream base URL (never with credentials); null for in-process providers.</summary>
    Uri? BaseUrl { get; }

    Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Streams deltas and ends with exactly one <see cref="ProviderStreamEvent.IsFinal"/> event.
    /// A stream that ends without it is reported as <see cref="ProviderErrorClass.StreamCut"/>.
    /// </summary>
    IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, CancellationToken cancellationToken);
}
