using System.Globalization;
using System.Net.Sockets;
using Google.Rpc;
using Grpc.Core;

namespace MonkeyCoder.Cli.Errors;

/// <summary>
/// Turns any failure into one line on stderr (what failed, why, what to do) and an exit code from
/// <see cref="ExitCodes"/>. gRPC failures are read from their google.rpc.Status details (ErrorInfo
/// reason, BadRequest field violations, RetryInfo); --verbose adds the raw details.
/// </summary>
internal static class ErrorReporter
{
    public sealed record Report(int ExitCode, string Line, string Reason, IReadOnlyList<string> Details);

    public static Report Describe(Exception exception, string action, string baseUrl)
    {
        switch (exception)
        {
            case RpcException { Status.DebugException: CliException inner }:
                // Raised while attaching credentials (a session that cannot be renewed).
                return Describe(inner, action, baseUrl);
            case CliException cli:
                return new Report(cli.ExitCode, cli.Message, "CLI_ERROR", cli.Detail is null ? [] : [cli.Detail]);
            case OperationCanceledException:
                return new Report(ExitCodes.Cancelled, $"{action} cancelled.", "CANCELLED", []);
            case RpcException rpc:
                return DescribeRpc(rpc, action, baseUrl);
            case HttpRequestException or SocketException:
                return Unreachable(action, baseUrl, exception.Message, [exception.ToString()]);
            case IOException or UnauthorizedAccessException:
                return new Report(ExitCodes.InvalidInput, $"{action} failed: {exception.Message}", "LOCAL_IO", [exception.ToString()]);
            default:
                return new Report(ExitCodes.Failure, $"{action} failed unexpectedly: {exception.Message}. Re-run with --verbose and report it.", "UNEXPECTED", [exception.ToString()]);
        }
    }

    public static int Write(Exception exception, string action, string baseUrl, bool verbose)
    {
        var report = Describe(exception, action, baseUrl);
        Console.Error.WriteLine("error: " + report.Line);
        if (verbose)
        {
            foreach (var line in report.Details)
            {
                Console.Error.WriteLine("  " + line);
            }
        }

        return report.ExitCode;
    }

    private static Report DescribeRpc(RpcException rpc, string action, string baseUrl)
    {
        var status = rpc.GetRpcStatus();
        var info = status?.GetDetail<ErrorInfo>();
        var badRequest = status?.GetDetail<BadRequest>();
        var retry = status?.GetDetail<RetryInfo>();
        var reason = info?.Reason is { Length: > 0 } r ? r : rpc.StatusCode.ToString().ToUpperInvariant();
        var message = status?.Message is { Length: > 0 } m ? m : rpc.Status.Detail;

        var details = new List<string> { $"status: {rpc.StatusCode} ({(int)rpc.StatusCode})", $"message: {message}", $"reason: {reason}" };
        if (info is not null)
        {
            details.Add($"domain: {info.Domain}");
            details.AddRange(info.Metadata.Select(kv => $"metadata.{kv.Key}: {kv.Value}"));
        }

        if (badRequest is not null)
        {
            details.AddRange(badRequest.FieldViolations.Select(v => $"field {v.Field}: {v.Description}"));
        }

        string? retryAfter = null;
        if (retry?.RetryDelay is { } delay)
        {
            retryAfter = delay.ToTimeSpan().TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
            details.Add($"retry after: {retryAfter}");
        }

        if (rpc.Status.DebugException is { } debug)
        {
            details.Add("transport: " + debug);
        }

        switch (rpc.StatusCode)
        {
            case StatusCode.Unauthenticated:
                return new Report(ExitCodes.Auth, $"{action} failed: not authenticated: {message} ({reason}). Pass --api-key, set MONKEY_CODER_API_KEY, or run `monkey auth login`.", reason, details);
            case StatusCode.PermissionDenied:
                return new Report(ExitCodes.Auth, $"{action} failed: permission denied: {message} ({reason}). Use a key with the needed scope.", reason, details);
            case StatusCode.ResourceExhausted:
                return new Report(ExitCodes.RateLimited, $"{action} failed: limit reached: {message} ({reason}). Retry {(retryAfter is null ? "later" : "after " + retryAfter)}.", reason, details);
            case StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition or StatusCode.NotFound or StatusCode.AlreadyExists:
                var fields = badRequest is { FieldViolations.Count: > 0 } && !badRequest.FieldViolations.All(v => message.Contains(v.Description, StringComparison.Ordinal))
                    ? " Fix: " + string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}"))
                    : "";
                return new Report(ExitCodes.InvalidInput, $"{action} failed: {message} ({reason}).{fields}", reason, details);
            case StatusCode.Unimplemented:
                return new Report(ExitCodes.NotAvailable, $"{action} is not available on the server at {baseUrl} ({reason}). Upgrade the server or use a matching CLI.", reason, details);
            case StatusCode.Cancelled:
                return new Report(ExitCodes.Cancelled, $"{action} cancelled.", reason, details);
            case StatusCode.DeadlineExceeded:
                return new Report(ExitCodes.Unavailable, $"{action} timed out: {message} ({reason}). Retry, or lower --max-tokens.", reason, details);
            case StatusCode.Unavailable:
                if (info is null)
                {
                    // No google.rpc.Status from the server: the transport failed (nothing listening, TLS, DNS).
                    return Unreachable(action, baseUrl, Innermost(rpc.Status.DebugException) ?? message, details);
                }

                return new Report(ExitCodes.Unavailable, $"{action} failed: service unavailable: {message} ({reason}). Retry {(retryAfter is null ? "later" : "after " + retryAfter)}.", reason, details);
            default:
                return new Report(ExitCodes.Failure, $"{action} failed: {message} ({reason}). Re-run with --verbose for details.", reason, details);
        }
    }

    private static Report Unreachable(string action, string baseUrl, string why, IReadOnlyList<string> details) => new(
        ExitCodes.Unavailable,
        $"{action} failed: cannot reach the Monkey Coder service at {baseUrl} ({Shorten(why)}). Start it, or point --base-url / MONKEY_CODER_BASE_URL at it.",
        "UNREACHABLE",
        details);

    private static string? Innermost(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception.Message;
    }

    private static string Shorten(string why)
    {
        var line = why.Split('\n')[0].Trim();
        return line.Length > 160 ? line[..160] + "…" : line;
    }
}
