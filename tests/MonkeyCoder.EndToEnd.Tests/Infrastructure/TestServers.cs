using System.Diagnostics;
using Npgsql;

namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real PostgreSQL and Redis that scripts/services.sh started for this run. Each test class
/// gets a database of its own. Outside CI, tests that need them fail with a message saying how to
/// start them (they never silently skip).
/// </summary>
public static class TestServers
{
    public static string DatabaseUrl => Require("MONKEY_TEST_DATABASE_URL");

    public static string RedisUrl => Require("MONKEY_TEST_REDIS_URL");

    /// <summary>Creates an empty database and returns its postgresql:// URL.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "mc_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(ToConnectionString(DatabaseUrl)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var uri = new UriBuilder(DatabaseUrl) { Path = "/" + name };
        return uri.Uri.ToString();
    }

    /// <summary>A Redis URL on a database index of its own (1–15), so tests do not see each other's keys.</summary>
    public static string RedisUrlWithDatabase(int database) => $"{RedisUrl.TrimEnd('/')}/{database}";

    public static string ToConnectionString(string url)
    {
        var uri = new Uri(url);
        var user = uri.UserInfo.Split(':')[0];
        return $"Host={uri.Host};Port={uri.Port};Username={user};Database={uri.AbsolutePath.TrimStart('/')};Pooling=false";
    }

    /// <summary>Stops PostgreSQL (fast shutdown) — for outage tests. Shared with the load tool's usage-outage scenario.</summary>
    public static Task StopPostgresAsync() => Postgres.StopAsync();

    public static Task StartPostgresAsync() => Postgres.StartAsync();

    private static LoadTests.Hosts.PostgresControl Postgres => LoadTests.Hosts.PostgresControl.FromEnvironment()
        ?? throw new InvalidOperationException("MONKEY_TEST_PG_* are not set: run the tests through `bash scripts/test.sh`, or `source scripts/services.sh start` first.");

    private static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run the tests through `bash scripts/test.sh`, or `source scripts/services.sh start` first.");
}
