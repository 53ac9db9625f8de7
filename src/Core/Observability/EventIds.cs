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

    // 1050–1059 shutdown drain (Hosting/ShutdownDrain.cs)
    public const int ShutdownDrainStarted = 1050;
    public const int ShutdownDrainCompleted = 1051;
    public const int ShutdownHookDrained = 1052;
    public const int ShutdownHookTimedOut = 1053;
    public const int ShutdownHookFailed = 1054;

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

    // 2000–2099 auth (users, keys, JWT, device flow, audit)

    // 2100–2199 limits (rate limits, budgets)

    // 2200–2299 storage (PostgreSQL, migrations)

    // 2300–2399 usage, caching, sessions
}
