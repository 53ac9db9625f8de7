using Grpc.Core;

namespace MonkeyCoder.Core.Auth;

/// <summary>Where the auth interceptor leaves the principal for the rest of the call.</summary>
internal static class PrincipalAccessor
{
    private const string Key = "monkeycoder.principal";

    /// <summary>The caller, or <c>null</c> for anonymous RPCs (health, sign-in) and when auth is disabled.</summary>
    public static Principal? GetPrincipal(this ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var value) ? value as Principal : null;

    /// <summary>The caller of an RPC that requires authentication (the interceptor guarantees one).</summary>
    public static Principal RequirePrincipal(this ServerCallContext context) =>
        context.GetPrincipal() ?? throw Api.RpcErrors.Unauthenticated(AuthReasons.CredentialMissing, "This call needs a credential.");

    /// <summary>Keeps the principal for the call and puts its id (never a credential) in the call's log scope.</summary>
    internal static void SetPrincipal(this ServerCallContext context, Principal principal)
    {
        context.UserState[Key] = principal;
        if (Observability.RequestTelemetry.Current is { } telemetry)
        {
            telemetry.PrincipalId = principal.Id;
        }
    }
}
