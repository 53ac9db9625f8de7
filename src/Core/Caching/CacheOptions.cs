using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Caching;

/// <summary>Response cache settings. Section <c>MonkeyCoder:Cache</c>.</summary>
public sealed class CacheOptions
{
    public const string Section = "MonkeyCoder:Cache";

    /// <summary><c>CACHE_ENABLED</c>. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>CACHE_TTL_SECONDS</c>: how long an answer is served from cache. Defaults to 3600 s.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 30 * 24 * 3600, ErrorMessage = "CACHE_TTL_SECONDS (MonkeyCoder:Cache:TtlSeconds) must be between 1 and 2592000.")]
    public int TtlSeconds { get; set; } = 3600;

    /// <summary>In-process cache size (embedded defaults), in answers. Defaults to 10,000.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000_000, ErrorMessage = "MonkeyCoder:Cache:MemoryEntries must be between 1 and 10000000.")]
    public int MemoryEntries { get; set; } = 10_000;

    /// <summary>
    /// <c>CACHE_SHARED_ACROSS_USERS</c>: one user's identical request may be answered from another's
    /// cached answer (cheaper, but a hit tells a caller that someone sent that prompt). Defaults to
    /// false: answers are cached per user.
    /// </summary>
    public bool SharedAcrossUsers { get; set; }
}

[OptionsValidator]
internal sealed partial class CacheOptionsValidator : IValidateOptions<CacheOptions>;
