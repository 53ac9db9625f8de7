namespace MonkeyCoder.Core.Caching;

/// <summary>The exact response cache. Failures never fail a request: they read as a miss.</summary>
internal interface IResponseCache
{
    ValueTask<CachedAnswer?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedAnswer answer, CancellationToken cancellationToken);
}
