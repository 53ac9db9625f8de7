using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MonkeyCoder.Core.Storage;

/// <summary>
/// Applies the embedded usage schema (Migrations/0002_usage.sql, idempotent DDL) at start, under a
/// PostgreSQL advisory lock so replicas starting together do not race. Stand-in until the shared
/// migration runner owns every Migrations/*.sql file.
/// </summary>
public sealed partial class UsageSchema(NpgsqlDataSource dataSource, ILogger<UsageSchema> logger) : IHostedService
{
    /// <summary>Advisory lock key: "mcusage" as a number, shared by every replica.</summary>
    private const long LockKey = 0x6D63_7573_6167;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var stream = typeof(UsageSchema).Assembly.GetManifestResourceStream("MonkeyCoder.Migrations.0002_usage.sql")
            ?? throw new InvalidOperationException("The usage migration is missing from the assembly.");
        using var reader = new StreamReader(stream);
        var sql = await reader.ReadToEndAsync(cancellationToken);

        // Retry briefly: PostgreSQL may still be starting next to us.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_lock({LockKey})", connection))
                {
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var apply = new NpgsqlCommand(sql, connection))
                {
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection))
                {
                    await unlock.ExecuteNonQueryAsync(cancellationToken);
                }

                Log.Applied(logger);
                return;
            }
            catch (NpgsqlException) when (attempt < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsageSchemaApplied, Level = LogLevel.Information, Message = "Usage schema is up to date")]
        public static partial void Applied(ILogger logger);
    }
}
