namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Every log event id the service uses, in one list so ids never collide. Each feature owns a
/// range; add new ids under its heading only.
/// </summary>
internal static class EventIds
{
    // 1000–1099 hosting and configuration
    public const int Started = 1000;
    public const int EmbeddedDefaults = 1001;

    // 1050–1059 shutdown drain (Hosting/ShutdownDrainService.cs)
    public const int ShutdownDrainStarted = 1050;
    public const int ShutdownDrainCompleted = 1051;
    public const int ShutdownHookDrained = 1052;
    public const int ShutdownHookTimedOut = 1053;
    public const int ShutdownHookFailed = 1054;

    // 1060–1069 deployment and readiness (Hosting/ReadinessMonitor.cs, SimulatedInProductionWarning.cs)
    public const int SimulatedInProduction = 1060;
    public const int ReadinessDegraded = 1061;
    public const int ReadinessRecovered = 1062;
    public const int ReadinessFailed = 1063;

    // 1100–1199 API and errors
    public const int UnhandledException = 1100;
    public const int RequestFailed = 1101;
    public const int StorageUnavailable = 1102;
    public const int DeferredWriteFailed = 1103;

    // 1200–1299 routing
    public const int RoutePlanned = 1200;
    public const int RouterStatsUnavailable = 1201;
    public const int RouterStoresSelected = 1202;
    public const int RouterStatsSnapshotLoaded = 1230;
    public const int RouterStatsSnapshotFailed = 1231;
    public const int SimulatedMarketLoaded = 1232;
    public const int SimulatedMarketInvalid = 1233;

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
    public const int BreakerHeldOpen = 1309;
    public const int StreamRecovering = 1340;
    public const int StreamRecovered = 1341;
    public const int PrefillRejected = 1342;
    public const int StreamRecoveryOverCeiling = 1343;
    public const int StreamToolCallBroken = 1344;

    // 1400–1499 providers
    public const int SimulatedStreamStopped = 1400;
    public const int ProviderUpstreamFailed = 1401;
    public const int ProviderTransportFailed = 1402;
    public const int ProviderEnabled = 1403;
    public const int ProviderStreamBadEvent = 1440;
    public const int ContextWindowReported = 1441;

    // 1500–1599 observability (metrics, Sentry, health probes, alerts)
    public const int RequestCompleted = 1500;
    public const int ProbeFailed = 1501;
    public const int ProviderHealthChanged = 1502;
    public const int AlertSent = 1503;
    public const int AlertSuppressed = 1504;
    public const int AlertFailed = 1505;
    public const int SentryEnabled = 1506;
    public const int FaultInjectionEnabled = 1507;

    // 1600–1699 REST edge (OpenAI compatibility, CORS, security headers)
    public const int EdgeStreamFailed = 1601;
    public const int EdgeFailedAfterStart = 1602;
    public const int EdgeBodyTooLarge = 1603;

    // 2000–2099 auth (users, keys, JWT, device flow, audit)
    public const int AuthStore = 2000;
    public const int BootstrapAdminKey = 2001;
    public const int EphemeralJwtKey = 2002;
    public const int AuthRejected = 2003;
    public const int AuditWriteFailed = 2004;
    public const int LastUsedFlushFailed = 2005;
    public const int AuthStoreUnavailableServingCached = 2006;
    public const int AuthStoreBack = 2007;
    public const int UserUpdated = 2050;

    // Anonymous-call limits, secrets and identity retention (issue 16, 2060–2069).
    public const int AnonymousLimiterUnavailable = 2060;
    public const int BootstrapKeyWritten = 2061;
    public const int ConfiguredKeyRevoked = 2062;
    public const int IdentityPurged = 2063;
    public const int IdentityPurgeFailed = 2064;
    public const int BootstrapKeyFileFailed = 2065;

    // 2100–2199 limits (rate limits, budgets)
    public const int LimitsBackend = 2100;
    public const int LimitsUnavailable = 2101;
    public const int LimitsRecovered = 2102;
    public const int BudgetsReconciled = 2150;
    public const int BudgetAlert = 2151;
    public const int BudgetSpendRebuilt = 2152;
    public const int BudgetSpendUnknown = 2153;

    // 2200–2299 storage (PostgreSQL, migrations)
    public const int MigrationApplied = 2200;
    public const int MigrationsUpToDate = 2201;
    public const int MigrationChecksumChanged = 2202;
    public const int StorageConnected = 2203;

    // 2300–2399 usage, caching, sessions
    public const int UsageWriteFailed = 2300;
    public const int UsageWriteRecovered = 2301;
    public const int UsageSpillReplayed = 2302;
    public const int UsageDrained = 2303;
    public const int UsageSpilledOnShutdown = 2304;
    public const int UsagePurged = 2305;
    public const int UsagePurgeFailed = 2306;
    public const int UsageSpillFailed = 2310;
    public const int UsageLostOnShutdown = 2311;
    public const int UsageSpillLeftAlone = 2370;
    public const int UsageStoreIdentified = 2371;
    public const int UsageNotDurable = 2372;
    public const int UsageServingStaleReads = 2373;
    public const int UsageStaleReadsEnded = 2374;
    public const int CacheFailed = 2320;
    public const int SessionStoreFailed = 2340;
}
