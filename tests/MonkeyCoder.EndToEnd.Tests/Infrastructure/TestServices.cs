using Npgsql;

namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The real PostgreSQL and Redis started by scripts/services.sh (MONKEY_TEST_DATABASE_URL,
/// MONKEY_TEST_REDIS_URL). Tests that need them fail with a clear message when they are missing.
/// </summary>
public static class TestServices
{
    public static string DatabaseUrl => Require("MONKEY_TEST_DATABASE_URL");

    public static string RedisUrl => Require("MONKEY_TEST_REDIS_URL");

    /// <summary>Creates an empty database with a random name and returns its postgresql:// URL.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "mc_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var dataSource = NpgsqlDataSource.Create(ToConnectionString(DatabaseUrl)))
        await using (var command = dataSource.CreateCommand($"CREATE DATABASE {name}"))
        {
            await command.ExecuteNonQueryAsync();
        }

        var uri = new UriBuilder(DatabaseUrl) { Path = "/" + name };
        return uri.Uri.ToString();
    }

    public static NpgsqlDataSource Open(string url) => NpgsqlDataSource.Create(ToConnectionString(url));

    public static string ToConnectionString(string url)
    {
        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = uri.AbsolutePath.TrimStart('/'),
            Username = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]),
        };
        if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            builder.Password = Uri.UnescapeDataString(uri.UserInfo.Split(':', 2)[1]);
        }

        return builder.ConnectionString;
    }

    private static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run `source scripts/services.sh start` (scripts/test.sh does) to start PostgreSQL and Redis for these tests.");
}
