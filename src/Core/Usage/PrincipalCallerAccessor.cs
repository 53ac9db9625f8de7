using Grpc.Core;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Core.Usage;

/// <summary>The authenticated principal of the call; <see cref="CallerIdentity.Anonymous"/> when auth is off.</summary>
internal sealed class PrincipalCallerAccessor : ICallerAccessor
{
    public CallerIdentity Get(ServerCallContext context) =>
        context.GetPrincipal() is { } principal
            ? new CallerIdentity(principal.Id, principal.ApiKeyId, principal.IsAdmin, principal.Limits.AllowedModels)
            : CallerIdentity.Anonymous;
}
