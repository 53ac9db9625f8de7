namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Every log event id the service uses, in one list so ids never collide. Each feature owns a
/// range; add new ids under its heading only.
/// </summary>
public static class EventIds
{
    // 1000–1099 hosting and configuration
    public const int Started = 1000;
    public const int EmbeddedDefaults = 1001;

    // 1100–1199 API and errors
    public const int UnhandledException = 1100;
    public const int RequestFailed = 1101;

    // 1200–1299 routing
    public const int RoutePlanned = 1200;
    public const int RouterStatsUnavailable = 1201;
    public const int RouterStoresSelected = 1202;

    // 1300–1399 execution
    public const int AttemptFailed = 1300;
    public const int FailingOver = 1301;
    public const int ExecutionCompleted = 1302;
    public const int BreakerOpened = 1303;
    public const int BreakerProbing = 1304;
    public const int BreakerClosed = 1305;
    public const int BreakerStoreUnavailable = 1306;
    public const int CircuitOpenSkipped = 1307;
    public const int StreamBroken = 1308;

    // 1400–1499 providers
    public const int SimulatedStreamStopped = 1400;
    public const int ProviderUpstreamFailed = 1401;
    public const int ProviderTransportFailed = 1402;
    public const int ProviderEnabled = 1403;

    // 1500–1599 observability (metrics, Sentry, health probes, alerts)

    // 1600–1699 REST edge (OpenAI compatibility, CORS, security headers)

    // 2000–2099 auth (users, keys, JWT, device flow, audit)

    // 2100–2199 limits (rate limits, budgets)

    // 2200–2299 storage (PostgreSQL, migrations)

    // 2300–2399 usage, caching, sessions
}
