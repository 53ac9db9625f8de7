using Microsoft.Extensions.Configuration;

namespace MonkeyCoder.Core.Configuration;

/// <summary>
/// Maps the flat environment variables operators already use (the original system's names:
/// <c>DATABASE_URL</c>, <c>OPENAI_API_KEY</c>, …) onto configuration keys. appsettings.json and
/// <c>MonkeyCoder__Section__Key</c> variables keep working; these win over both.
/// </summary>
public static class EnvironmentVariables
{
    /// <summary>Environment variable → configuration key. The single list of supported variables.</summary>
    public static readonly IReadOnlyList<(string Variable, string Key)> Map =
    [
        ("ENVIRONMENT", "MonkeyCoder:Hosting:Environment"),
        ("PORT", "MonkeyCoder:Hosting:Port"),
        ("BIND_ADDRESS", "MonkeyCoder:Hosting:BindAddress"),
        ("DRAIN_SECONDS", "MonkeyCoder:Hosting:DrainSeconds"),
        ("DATABASE_URL", "MonkeyCoder:Database:Url"),
        ("REDIS_URL", "MonkeyCoder:Redis:Url"),
        ("SENTRY_DSN", "MonkeyCoder:Sentry:Dsn"),
        ("JWT_SECRET_KEY", "MonkeyCoder:Auth:JwtSecretKey"),
        ("MODEL_CATALOG_PATH", "MonkeyCoder:Catalog:Path"),
        ("OPENAI_API_KEY", "MonkeyCoder:Providers:openai:ApiKey"),
        ("OPENAI_BASE_URL", "MonkeyCoder:Providers:openai:BaseUrl"),
        ("ANTHROPIC_API_KEY", "MonkeyCoder:Providers:anthropic:ApiKey"),
        ("ANTHROPIC_BASE_URL", "MonkeyCoder:Providers:anthropic:BaseUrl"),
        ("GOOGLE_API_KEY", "MonkeyCoder:Providers:google:ApiKey"),
        ("GOOGLE_BASE_URL", "MonkeyCoder:Providers:google:BaseUrl"),
        ("GROQ_API_KEY", "MonkeyCoder:Providers:groq:ApiKey"),
        ("GROQ_BASE_URL", "MonkeyCoder:Providers:groq:BaseUrl"),
        ("XAI_API_KEY", "MonkeyCoder:Providers:xai:ApiKey"),
        ("XAI_BASE_URL", "MonkeyCoder:Providers:xai:BaseUrl"),
        ("USAGE_SPILL_PATH", "MonkeyCoder:Usage:SpillPath"),
        ("USAGE_RETENTION_DAYS", "MonkeyCoder:Usage:RetentionDays"),
        ("USAGE_STALE_READ_SECONDS", "MonkeyCoder:Usage:StaleReadSeconds"),
        ("CACHE_ENABLED", "MonkeyCoder:Cache:Enabled"),
        ("CACHE_TTL_SECONDS", "MonkeyCoder:Cache:TtlSeconds"),
        ("CACHE_SHARED_ACROSS_USERS", "MonkeyCoder:Cache:SharedAcrossUsers"),
        ("SESSION_TTL_HOURS", "MonkeyCoder:Sessions:TtlHours"),
        ("AUTH_ENABLED", "MonkeyCoder:Auth:Enabled"),
        ("MONKEY_CODER_ADMIN_API_KEY", "MonkeyCoder:Auth:BootstrapAdminApiKey"),
        ("AUTH_DEVICE_INTERVAL_SECONDS", "MonkeyCoder:Auth:DeviceIntervalSeconds"),
        ("AUTH_VERIFICATION_URI", "MonkeyCoder:Auth:VerificationUri"),
        ("AUTH_ALLOW_SIGN_UP", "MonkeyCoder:Auth:AllowSignUp"),
        ("AUTH_SESSION_MAX_DAYS", "MonkeyCoder:Auth:SessionMaxDays"),
        ("AUTH_BOOTSTRAP_KEY_FILE", "MonkeyCoder:Auth:BootstrapKeyFile"),
        ("AUTH_EXPIRED_RETENTION_DAYS", "MonkeyCoder:Auth:ExpiredRetentionDays"),
        ("AUDIT_RETENTION_DAYS", "MonkeyCoder:Auth:AuditRetentionDays"),
        ("AUTH_RATE_LIMIT_PER_IP", "MonkeyCoder:AnonymousLimits:PerClientPerMinute"),
        ("AUTH_RATE_LIMIT_PER_ACCOUNT", "MonkeyCoder:AnonymousLimits:PerAccountPerMinute"),
        ("RATE_LIMIT_ENABLED", "MonkeyCoder:Limits:Enabled"),
        ("RATE_LIMIT_REQUESTS_PER_MINUTE", "MonkeyCoder:Limits:RequestsPerMinute"),
        ("RATE_LIMIT_TOKENS_PER_MINUTE", "MonkeyCoder:Limits:TokensPerMinute"),
        ("MONTHLY_BUDGET_USD", "MonkeyCoder:Limits:MonthlyBudgetUsd"),
        ("CORS_ALLOWED_ORIGINS", "MonkeyCoder:Edge:CorsAllowedOrigins"),
        ("CORS_MAX_AGE_SECONDS", "MonkeyCoder:Edge:CorsMaxAgeSeconds"),
        ("MAX_REQUEST_BODY_BYTES", "MonkeyCoder:Edge:MaxRequestBodyBytes"),
        ("TRUSTED_PROXIES", "MonkeyCoder:Edge:TrustedProxies"),
        ("TRUSTED_NETWORKS", "MonkeyCoder:Edge:TrustedNetworks"),
        ("API_DOCS_ENABLED", "MonkeyCoder:Edge:DocsEnabled"),
        ("SIMULATED_ENABLED", "MonkeyCoder:Simulated:Enabled"),
        ("SIMULATED_FIRST_TOKEN_DELAY_MS", "MonkeyCoder:Simulated:FirstTokenDelayMs"),
        ("SIMULATED_TOKENS_PER_SECOND", "MonkeyCoder:Simulated:TokensPerSecond"),
        ("SIMULATED_MARKET_PATH", "MonkeyCoder:Simulated:MarketPath"),
        ("SENTRY_RELEASE", "MonkeyCoder:Sentry:Release"),
        ("SENTRY_SAMPLE_RATE", "MonkeyCoder:Sentry:SampleRate"),
        ("SENTRY_TRACES_SAMPLE_RATE", "MonkeyCoder:Sentry:TracesSampleRate"),
        ("METRICS_PORT", "MonkeyCoder:Metrics:Port"),
        ("TRACE_PROPAGATE_TO_PROVIDERS", "MonkeyCoder:Tracing:PropagateToProviders"),
        ("ALERT_WEBHOOK_URL", "MonkeyCoder:Alerts:WebhookUrl"),
        ("PROBE_INTERVAL_SECONDS", "MonkeyCoder:Probes:IntervalSeconds"),
        ("ROUTER_EXPLORATION_RATE", "MonkeyCoder:Routing:ExplorationRate"),
        ("ROUTER_DECAY_HALF_LIFE_SECONDS", "MonkeyCoder:Routing:DecayHalfLifeSeconds"),
        ("ROUTER_STATS_SNAPSHOT_PATH", "MonkeyCoder:Routing:SnapshotPath"),
        ("EXECUTION_FIRST_TOKEN_TIMEOUT_MS", "MonkeyCoder:Execution:FirstTokenTimeoutMs"),
        ("EXECUTION_STALL_TIMEOUT_MS", "MonkeyCoder:Execution:StallTimeoutMs"),
        ("EXECUTION_ATTEMPT_TIMEOUT_MS", "MonkeyCoder:Execution:AttemptTimeoutMs"),
        ("STREAM_RECOVERY", "MonkeyCoder:Execution:StreamRecovery"),
        ("STREAM_RECOVERY_MAX_PER_CALL", "MonkeyCoder:Execution:MaxRecoveriesPerCall"),
    ];

    /// <summary>Adds the mapped variables that are set (non-empty) as a configuration source.</summary>
    public static IConfigurationBuilder AddMonkeyCoderEnvironment(this IConfigurationBuilder builder, Func<string, string?>? read = null)
    {
        read ??= Environment.GetEnvironmentVariable;
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in Map)
        {
            var value = read(variable);
            if (!string.IsNullOrEmpty(value))
            {
                values[key] = value;
            }
        }

        return builder.AddInMemoryCollection(values);
    }
}
