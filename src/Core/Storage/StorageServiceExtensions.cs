using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Storage;

/// <summary>
/// The shared PostgreSQL data source and Redis multiplexer: one each per process, created eagerly
/// at start (a lazily connected client stalls the first burst), registered for every feature.
/// </summary>
public static class StorageServiceExtensions
{
    public const string DatabaseUrlKey = "MonkeyCoder:Database:Url";
    public const string RedisUrlKey = "MonkeyCoder:Redis:Url";

    /// <summary>Registers <see cref="NpgsqlDataSource"/> when DATABASE_URL is set and <see cref="IConnectionMultiplexer"/> when REDIS_URL is set.</summary>
    public static IServiceCollection AddMonkeyCoderStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var databaseUrl = configuration[DatabaseUrlKey];
        if (!string.IsNullOrWhiteSpace(databaseUrl))
        {
            services.TryAddSingleton(_ => CreateDataSource(databaseUrl));
        }

        var redisUrl = configuration[RedisUrlKey];
        if (!string.IsNullOrWhiteSpace(redisUrl))
        {
            services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(StorageUrls.ToRedisOptions(redisUrl)));
        }

        services.AddHostedService<StorageStartup>();
        return services;
    }

    public static NpgsqlDataSource CreateDataSource(string databaseUrl)
    {
        // The full builder (not the slim one) so arrays, jsonb and ranges work; it is AOT-clean.
        var builder = new NpgsqlDataSourceBuilder(StorageUrls.ToNpgsqlConnectionString(databaseUrl));
        return builder.Build();
    }

    /// <summary>
    /// The <c>migrate</c> command: applies the embedded migrations to DATABASE_URL and returns the
    /// process exit code (0 on success, 2 when DATABASE_URL is missing).
    /// </summary>
    public static async Task<int> RunMigrateCommandAsync(IConfiguration configuration, TextWriter output)
    {
        var databaseUrl = configuration[DatabaseUrlKey];
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            await output.WriteLineAsync("migrate: DATABASE_URL (MonkeyCoder:Database:Url) is not set.");
            return 2;
        }

        await using var dataSource = CreateDataSource(databaseUrl);
        var applied = await MigrationRunner.ApplyAsync(dataSource, NullLogger.Instance, CancellationToken.None);
        await output.WriteLineAsync(applied.Count == 0
            ? "migrate: database schema is up to date"
            : "migrate: applied " + string.Join(", ", applied));
        return 0;
    }
}
