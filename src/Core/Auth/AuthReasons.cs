namespace MonkeyCoder.Core.Auth;

/// <summary>ErrorInfo reasons of authentication and authorization failures.</summary>
internal static class AuthReasons
{
    public const string CredentialMissing = "CREDENTIAL_MISSING";
    public const string CredentialInvalid = "CREDENTIAL_INVALID";
    public const string CredentialExpired = "CREDENTIAL_EXPIRED";
    public const string CredentialRevoked = "CREDENTIAL_REVOKED";
    public const string ScopeMissing = "SCOPE_MISSING";
    public const string InvalidCredentials = "INVALID_CREDENTIALS";
    public const string RefreshTokenInvalid = "REFRESH_TOKEN_INVALID";
    public const string RefreshTokenReused = "REFRESH_TOKEN_REUSED";
    public const string SignUpRejected = "SIGN_UP_REJECTED";
    public const string SignUpDisabled = "SIGN_UP_DISABLED";
    public const string DeviceCodeInvalid = "DEVICE_CODE_INVALID";
    public const string UserCodeInvalid = "USER_CODE_INVALID";
    public const string UserRequired = "USER_REQUIRED";
    public const string ApiKeyNotFound = "API_KEY_NOT_FOUND";
    public const string UserDisabled = "USER_DISABLED";
    public const string LimitAboveCreator = "LIMIT_ABOVE_CREATOR";
    public const string ApprovalNotAllowed = "DEVICE_APPROVAL_NOT_ALLOWED";
    public const string UserNotFound = "USER_NOT_FOUND";
}
