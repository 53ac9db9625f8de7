using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Makes sure a first admin credential exists at start: the key from <c>MONKEY_CODER_ADMIN_API_KEY</c>
/// when set (created or re-hashed to match; once revoked it stays revoked, and start-up says so), else
/// — when no active admin key exists — a generated one, printed ONCE to standard output (never logged);
/// in production written to <see cref="AuthOptions.BootstrapKeyFile"/> (mode 0600) instead, its path logged. Runs after migrations (registered after storage).
/// Check and create run under the store's bootstrap lock (a PostgreSQL advisory lock), so replicas
/// starting together on an empty database create, audit and print exactly one admin key.
/// </summary>
internal sealed partial class BootstrapAdmin(
    IIdentityStore store,
    AuditTrail audit,
    AccessTokens accessTokens,
    IOptions<AuthOptions> options,
    IOptions<Configuration.HostingOptions> hosting,
    TimeProvider time,
    ILogger<BootstrapAdmin> logger,
    Hosting.TestHooks? hooks = null) : IHostedService
{
    /// <summary>Where the generated key is printed: stdout, unless the test hooks give a test's own writer.</summary>
    private TextWriter Output => (hooks ?? Hosting.TestHooks.Off).BootstrapOutput;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        Log.Store(logger, store.Kind, settings.Enabled);
        if (accessTokens.IsEphemeralKey)
        {
            Log.EphemeralJwtKey(logger);
        }

        if (!settings.Enabled)
        {
            return;
        }

        await using var bootstrap = await store.LockBootstrapAsync(cancellationToken);
        var now = time.GetUtcNow();
        var configured = settings.BootstrapAdminApiKey;
        if (string.IsNullOrEmpty(configured) && await store.HasActiveAdminKeyAsync(now, cancellationToken))
        {
            return;
        }

        var admin = await store.FindUserByEmailAsync(settings.BootstrapAdminEmail, cancellationToken);
        if (admin is null)
        {
            admin = new UserRecord(Secrets.NewId("usr"), settings.BootstrapAdminEmail, "Bootstrap admin", null, Scopes.Roles.AdminRole, now);
            if (!await store.TryCreateUserAsync(admin, cancellationToken))
            {
                // Another replica created it at the same moment.
                admin = await store.FindUserByEmailAsync(settings.BootstrapAdminEmail, cancellationToken)
                    ?? throw new InvalidOperationException("The bootstrap admin user could not be created.");
            }
        }

        var secret = string.IsNullOrEmpty(configured) ? Secrets.NewApiKey() : configured;
        var prefix = Secrets.LookupPrefix(secret)!;
        var hash = Secrets.Sha256(secret);
        var existing = await store.FindApiKeyByPrefixAsync(prefix, cancellationToken);
        if (existing is not null)
        {
            if (existing.RevokedAt is not null)
            {
                // A revoked key is revoked for good: a restart with the same setting must not bring it back.
                Log.ConfiguredKeyRevoked(logger, prefix, existing.RevokedAt.Value);
                return;
            }

            if (!Secrets.HashEquals(existing.KeyHash, hash))
            {
                await store.ReplaceApiKeyHashAsync(existing.Id, hash, cancellationToken);
            }

            Log.ConfiguredKey(logger, prefix);
            return;
        }

        var key = new ApiKeyRecord(Secrets.NewId("key"), admin.Id, "bootstrap admin", prefix, hash, Scopes.All.ToList(), now);
        try
        {
            await store.CreateApiKeyAsync(key, cancellationToken);
        }
        catch (Exception ex) when (ex is Npgsql.PostgresException { SqlState: "23505" } && !string.IsNullOrEmpty(configured))
        {
            // Several replicas with the same configured key started together: one insert wins.
            return;
        }

        await audit.WriteAsync(AuditKinds.BootstrapKey, admin.Id, key.Id, string.IsNullOrEmpty(configured) ? "generated" : "from configuration");
        if (string.IsNullOrEmpty(configured) && string.Equals(hosting.Value.Environment, "production", StringComparison.OrdinalIgnoreCase))
        {
            // Production stdout usually ends in log storage: the key goes to a file only its owner reads.
            var path = Path.GetFullPath(settings.BootstrapKeyFile);
            try
            {
                await WriteKeyFileAsync(path, secret, cancellationToken);
                Log.KeyWritten(logger, prefix, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The key is not shown anywhere: revoke it so no unknown admin credential stays active.
                await store.RevokeApiKeyAsync(key.Id, null, time.GetUtcNow(), cancellationToken);
                Log.KeyFileFailed(logger, path, ex.GetType().Name);
                throw new InvalidOperationException(
                    $"The bootstrap admin key could not be written to {path} (AUTH_BOOTSTRAP_KEY_FILE); set AUTH_BOOTSTRAP_KEY_FILE to a writable path or MONKEY_CODER_ADMIN_API_KEY.", ex);
            }
        }
        else if (string.IsNullOrEmpty(configured))
        {
            // Printed once, to stdout only, so it never reaches log storage.
            await Output.WriteLineAsync($"""

                ==================== Monkey Coder bootstrap admin API key ====================
                {secret}
                Shown once. Use it as 'authorization: Bearer <key>'; create narrower keys with
                ApiKeyService/CreateApiKey. Set MONKEY_CODER_ADMIN_API_KEY to choose it yourself.
                ==============================================================================

                """);
            await Output.FlushAsync(cancellationToken);
        }
        else
        {
            Log.ConfiguredKey(logger, prefix);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Creates (or truncates) the file with mode 0600 before any byte of the key is written.</summary>
    private static async Task WriteKeyFileAsync(string path, string secret, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new FileStream(path, options))
        {
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(secret + "\n"), cancellationToken);
        }

        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies to new files only: an existing file keeps its mode otherwise.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.AuthStore, Level = LogLevel.Information,
            Message = "Identity store: {Store} (embedded = in-process, one replica, lost on restart); authentication enabled: {Enabled}")]
        public static partial void Store(ILogger logger, string store, bool enabled);

        [LoggerMessage(EventId = Observability.EventIds.BootstrapAdminKey, Level = LogLevel.Information, Message = "Bootstrap admin API key {Prefix}… from configuration is active")]
        public static partial void ConfiguredKey(ILogger logger, string prefix);

        [LoggerMessage(EventId = Observability.EventIds.ConfiguredKeyRevoked, Level = LogLevel.Warning,
            Message = "Bootstrap admin API key {Prefix}… from MONKEY_CODER_ADMIN_API_KEY was revoked at {RevokedAt:o} and stays revoked; set a new key to bootstrap again")]
        public static partial void ConfiguredKeyRevoked(ILogger logger, string prefix, DateTimeOffset revokedAt);

        [LoggerMessage(EventId = Observability.EventIds.BootstrapKeyWritten, Level = LogLevel.Warning,
            Message = "Generated bootstrap admin API key {Prefix}… written to {Path} (mode 0600); read it once, then delete the file")]
        public static partial void KeyWritten(ILogger logger, string prefix, string path);

        [LoggerMessage(EventId = Observability.EventIds.BootstrapKeyFileFailed, Level = LogLevel.Critical,
            Message = "Could not write the bootstrap admin API key to {Path} ({Error}); the key was revoked")]
        public static partial void KeyFileFailed(ILogger logger, string path, string error);

        [LoggerMessage(EventId = Observability.EventIds.EphemeralJwtKey, Level = LogLevel.Warning,
            Message = "JWT_SECRET_KEY is not set: access tokens are signed with a per-process key and do not survive a restart or work on other replicas")]
        public static partial void EphemeralJwtKey(ILogger logger);
    }
}
