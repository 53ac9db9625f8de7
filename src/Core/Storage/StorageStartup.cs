using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Storage;

/// <summary>Connects the shared clients and applies migrations before the host accepts calls.</summary>
internal sealed partial class StorageStartup(IServiceProvider services, ILogger<StorageStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<NpgsqlDataSource>() is { } dataSource)
        {
            await MigrationRunner.ApplyAsync(dataSource, logger, cancellationToken);
        }

        if (services.GetService<IConnectionMultiplexer>() is { } redis)
        {
            Log.RedisConnected(logger, redis.IsConnected);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.StorageConnected, Level = LogLevel.Information, Message = "Redis multiplexer created (connected: {Connected})")]
        public static partial void RedisConnected(ILogger logger, bool connected);
    }
}
