using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MonkeyCoder.Core.Storage;

/// <summary>One embedded migration: <c>Storage/Migrations/NNNN_name.sql</c>.</summary>
internal sealed record Migration(int Version, string Name, string Sql)
{
    public string Checksum { get; } = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Sql))).ToLowerInvariant();
}

/// <summary>
/// Applies the embedded, forward-only SQL migrations in version order, each in its own transaction,
/// and records them in <c>schema_migrations</c>. Holds a PostgreSQL advisory lock for the whole run,
/// so replicas that start together apply each migration exactly once (the others wait, then find
/// nothing to do).
/// </summary>
internal static partial class MigrationRunner
{
    /// <summary>Advisory lock key shared by every replica ("mkmigrat" as a number).</summary>
    public const long LockKey = 0x6D6B_6D69_6772_6174;

    private const string ResourcePrefix = "MonkeyCoder.Migrations.";

    /// <summary>The migrations compiled into Core, ordered by version.</summary>
    public static IReadOnlyList<Migration> Embedded()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[ResourcePrefix.Length..^".sql".Length];
            var underscore = name.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(name[..underscore], System.Globalization.CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration '{name}.sql' must be named NNNN_description.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, name, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {migrations[i].Version}: {migrations[i - 1].Name}, {migrations[i].Name}.");
            }
        }

        return migrations;
    }

    /// <summary>Applies what is missing; returns the names applied by this call (empty when up to date).</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(NpgsqlDataSource dataSource, ILogger logger, CancellationToken cancellationToken)
    {
        var migrations = Embedded();
        var applied = new List<string>();

        // PostgreSQL may still be starting next to us (compose, CI): retry the connection briefly.
        NpgsqlConnection connection;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                connection = await dataSource.OpenConnectionAsync(cancellationToken);
                break;
            }
            catch (NpgsqlException ex) when (attempt < 10 && ex.IsTransient)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300 * attempt), cancellationToken);
            }
        }

        await using (connection)
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_lock({LockKey})", cancellationToken);
            try
            {
                await ExecuteAsync(connection, """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version     integer PRIMARY KEY,
                        name        text NOT NULL,
                        checksum    text NOT NULL,
                        applied_at  timestamptz NOT NULL DEFAULT now()
                    )
                    """, cancellationToken);

                var done = new Dictionary<int, string>();
                await using (var query = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", connection))
                await using (var reader = await query.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        done[reader.GetInt32(0)] = reader.GetString(1);
                    }
                }

                foreach (var migration in migrations)
                {
                    if (done.TryGetValue(migration.Version, out var checksum))
                    {
                        if (checksum != migration.Checksum)
                        {
                            Log.ChecksumChanged(logger, migration.Name);
                        }

                        continue;
                    }

                    await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                    await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
                    {
                        await apply.ExecuteNonQueryAsync(cancellationToken);
                    }

                    await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", connection, transaction))
                    {
                        record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
                        record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
                        record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Checksum });
                        await record.ExecuteNonQueryAsync(cancellationToken);
                    }

                    await transaction.CommitAsync(cancellationToken);
                    applied.Add(migration.Name);
                    Log.Applied(logger, migration.Name);
                }
            }
            finally
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None);
            }
        }

        Log.UpToDate(logger, migrations.Count, applied.Count);
        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.MigrationApplied, Level = LogLevel.Information, Message = "Applied migration {Migration}")]
        public static partial void Applied(ILogger logger, string migration);

        [LoggerMessage(EventId = Observability.EventIds.MigrationsUpToDate, Level = LogLevel.Information, Message = "Database schema up to date: {Known} migrations known, {Applied} applied now")]
        public static partial void UpToDate(ILogger logger, int known, int applied);

        [LoggerMessage(EventId = Observability.EventIds.MigrationChecksumChanged, Level = LogLevel.Warning,
            Message = "Migration {Migration} was edited after it was applied; migrations are forward-only, add a new one instead")]
        public static partial void ChecksumChanged(ILogger logger, string migration);
    }
}
