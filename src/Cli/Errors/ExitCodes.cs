namespace MonkeyCoder.Cli.Errors;

/// <summary>Exit codes scripts can rely on (documented in docs/cli.md; never renumber).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Anything not listed below (server internal error, unexpected failure).</summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong (unknown command or option, bad value).</summary>
    public const int Usage = 2;

    /// <summary>UNAUTHENTICATED or PERMISSION_DENIED: missing, wrong or insufficient credentials.</summary>
    public const int Auth = 3;

    /// <summary>RESOURCE_EXHAUSTED: rate limited or out of quota/budget; retry later.</summary>
    public const int RateLimited = 4;

    /// <summary>UNAVAILABLE or DEADLINE_EXCEEDED, or the service cannot be reached at all.</summary>
    public const int Unavailable = 5;

    /// <summary>INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE/NOT_FOUND, or a local input problem (file too big, not text).</summary>
    public const int InvalidInput = 6;

    /// <summary>UNIMPLEMENTED: this server (or this build of the CLI) does not offer the operation yet.</summary>
    public const int NotAvailable = 7;

    /// <summary>Cancelled by the user (Ctrl-C / SIGINT), as shells report it (128 + 2).</summary>
    public const int Cancelled = 130;
}
