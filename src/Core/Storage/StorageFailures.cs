using System.Net.Sockets;
using Grpc.Core;
using Npgsql;

namespace MonkeyCoder.Core.Storage;

/// <summary>
/// Tells a store that is down (PostgreSQL stopped, restarting, failing over, out of connections)
/// from a bug: the first is UNAVAILABLE with a retry hint, an operational condition that readiness
/// and metrics report; only the second is INTERNAL and goes to Sentry.
/// </summary>
internal static class StorageFailures
{
    public const string Reason = "STORAGE_UNAVAILABLE";

    /// <summary>How long a caller is asked to wait before retrying. 1 s: a restart or failover takes seconds.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// True for PostgreSQL being unreachable or refusing work for now: connection failures (class 08),
    /// resources (53), shutdown or operator intervention (57), and Npgsql's transient errors (sockets, timeouts).
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        _ => false,
    };

    public static RpcException ToRpcException() =>
        Api.RpcErrors.Unavailable(Reason, "The service's database is unavailable for the moment; retry shortly.", RetryAfter);
}
