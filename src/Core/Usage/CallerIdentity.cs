using Grpc.Core;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Who made a call, as usage, sessions and limits need it. Never holds a credential.
/// <see cref="AllowedModels"/> is the key's allow-list of models/providers (see <see cref="Routing.ModelAllowList"/>); null = any.
/// </summary>
internal sealed record CallerIdentity(string PrincipalId, string? ApiKeyId, bool IsAdmin, IReadOnlyList<string>? AllowedModels = null)
{
    /// <summary>The caller when no authentication is configured (embedded defaults).</summary>
    public static readonly CallerIdentity Anonymous = new("anonymous", null, false);
}

/// <summary>Resolves the caller of an RPC. The auth feature supplies the real one.</summary>
internal interface ICallerAccessor
{
    CallerIdentity Get(ServerCallContext context);
}

/// <summary>The authenticated principal of the call; <see cref="CallerIdentity.Anonymous"/> when auth is off.</summary>
internal sealed class PrincipalCallerAccessor : ICallerAccessor
{
    public CallerIdentity Get(ServerCallContext context) =>
        context.GetPrincipal() is { } principal
            ? new CallerIdentity(principal.Id, principal.ApiKeyId, principal.IsAdmin, principal.Limits.AllowedModels)
            : CallerIdentity.Anonymous;
}
