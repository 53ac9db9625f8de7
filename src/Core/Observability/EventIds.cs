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

    // 1300–1399 execution
    public const int AttemptFailed = 1300;
    public const int FailingOver = 1301;
    public const int ExecutionCompleted = 1302;

    // 1400–1499 providers
    public const int SimulatedStreamStopped = 1400;

    // 1500–1599 observability (metrics, Sentry, health probes, alerts)

    // 1600–1699 REST edge (OpenAI compatibility, CORS, security headers)
    public const int EdgeUnhandledException = 1600;
    public const int EdgeStreamFailed = 1601;
    public const int EdgeFailedAfterStart = 1602;
    public const int EdgeBodyTooLarge = 1603;

    // 2000–2099 auth (users, keys, JWT, device flow, audit)

    // 2100–2199 limits (rate limits, budgets)

    // 2200–2299 storage (PostgreSQL, migrations)

    // 2300–2399 usage, caching, sessions
    public const int UsageWriteFailed = 2300;
    public const int UsageWriteRecovered = 2301;
    public const int UsageSpillReplayed = 2302;
    public const int UsageDrained = 2303;
    public const int UsageSpilledOnShutdown = 2304;
    public const int UsagePurged = 2305;
    public const int UsagePurgeFailed = 2306;
    public const int UsageSchemaApplied = 2307;
    public const int CacheFailed = 2320;
    public const int SessionStoreFailed = 2340;
}
