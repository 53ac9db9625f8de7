namespace MonkeyCoder.LoadTests.Clients;

/// <summary>
/// The API key load runs authenticate with. Hosts the tool starts get it as their bootstrap admin
/// key (with rate limits raised so the limiter runs on every call but does not shape the load);
/// against --target, set MONKEY_CODER_API_KEY to a key of that deployment.
/// </summary>
public static class LoadCredentials
{
    public const string DefaultKey = "mk_loadtest00_0123456789abcdefghijklmnopqrstuvwxyzABCD";

    public static string Key => Environment.GetEnvironmentVariable("MONKEY_CODER_API_KEY") is { Length: > 0 } key ? key : DefaultKey;

    /// <summary>Environment for hosts the tool starts: auth and limits on, limits far above the offered load.</summary>
    public static IEnumerable<KeyValuePair<string, string>> HostEnvironment =>
    [
        new("MONKEY_CODER_ADMIN_API_KEY", Key),
        new("RATE_LIMIT_REQUESTS_PER_MINUTE", "10000000"),
        new("RATE_LIMIT_TOKENS_PER_MINUTE", "2000000000"),
    ];
}
