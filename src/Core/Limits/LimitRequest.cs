namespace MonkeyCoder.Core.Limits;

/// <summary>What one call asks of the limiter.</summary>
/// <param name="Subject">Credential identity (e.g. <c>key:key_…</c>); requests are counted per subject and RPC.</param>
/// <param name="Method">Full gRPC method name.</param>
/// <param name="UserId">The owning user, for the per-user budget.</param>
/// <param name="KeyId">The API key, when the caller used one.</param>
/// <param name="RequestsPerMinute">Request limit for this subject and RPC.</param>
/// <param name="TokensPerMinute">Token limit for this subject.</param>
/// <param name="EstimatedTokens">Tokens reserved before the call; 0 when the RPC uses no model.</param>
/// <param name="KeyBudgetMicros">Monthly cap of the key in micro-dollars; null = none.</param>
/// <param name="UserBudgetMicros">Monthly cap of the user in micro-dollars; null = none.</param>
internal sealed record LimitRequest(
    string Subject,
    string Method,
    string UserId,
    string? KeyId,
    int RequestsPerMinute,
    int TokensPerMinute,
    long EstimatedTokens,
    long? KeyBudgetMicros,
    long? UserBudgetMicros);
