using Microsoft.Extensions.Logging;

namespace MonkeyCoder.Core.Auth;

/// <summary>Kinds of audit events.</summary>
internal static class AuditKinds
{
    public const string SignUp = "user.signed_up";
    public const string LoginSucceeded = "login.succeeded";
    public const string LoginFailed = "login.failed";
    public const string LoginLocked = "login.locked";
    public const string Logout = "logout";
    public const string KeyCreated = "api_key.created";
    public const string KeyRevoked = "api_key.revoked";
    public const string UserUpdated = "user.updated";
    public const string BootstrapKey = "api_key.bootstrapped";
    public const string RefreshReuse = "refresh_token.reuse_detected";
    public const string DeviceApproved = "device.approved";
    public const string DeviceDenied = "device.denied";
    public const string SessionsEnded = "user.sessions_ended";
}

/// <summary>Writes audit events; a failed write is logged and never fails the caller's request.</summary>
internal sealed partial class AuditTrail(IIdentityStore store, TimeProvider time, ILogger<AuditTrail> logger)
{
    public async Task WriteAsync(string kind, string? principalId, string subject, string detail = "")
    {
        try
        {
            await store.AppendAuditAsync(time.GetUtcNow(), kind, principalId, subject, detail, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WriteFailed(logger, ex, kind);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.AuditWriteFailed, Level = LogLevel.Warning, Message = "Could not write audit event {Kind}")]
        public static partial void WriteFailed(ILogger logger, Exception exception, string kind);
    }
}
