using Grpc.Core;

namespace MonkeyCoder.Core.Auth;

/// <summary>The principal of the RPC a handler serves, as the call pipeline's authentication step left it on the <see cref="Calls.CallContext"/>.</summary>
internal static class PrincipalAccessor
{
    /// <summary>The caller, or <c>null</c> for anonymous RPCs (health, sign-in) and when auth is disabled.</summary>
    public static Principal? GetPrincipal(this ServerCallContext context) => Calls.CallContext.Current?.Principal;

    /// <summary>The caller of an RPC that requires authentication (the interceptor guarantees one).</summary>
    public static Principal RequirePrincipal(this ServerCallContext context) =>
        context.GetPrincipal() ?? throw Api.RpcErrors.Unauthenticated(AuthReasons.CredentialMissing, "This call needs a credential.");
}
