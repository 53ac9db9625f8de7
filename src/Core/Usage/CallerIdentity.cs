using Grpc.Core;

namespace MonkeyCoder.Core.Usage;

/// <summary>Who made a call, as usage, sessions and limits need it. Never holds a credential.</summary>
public sealed record CallerIdentity(string PrincipalId, string? ApiKeyId, bool IsAdmin)
{
    /// <summary>The caller when no authentication is configured (embedded defaults).</summary>
    public static readonly CallerIdentity Anonymous = new("anonymous", null, false);
}

/// <summary>Resolves the caller of an RPC. The auth feature supplies the real one.</summary>
public interface ICallerAccessor
{
    CallerIdentity Get(ServerCallContext context);
}

/// <summary>No authentication: everyone is <see cref="CallerIdentity.Anonymous"/>.</summary>
public sealed class AnonymousCallerAccessor : ICallerAccessor
{
    public CallerIdentity Get(ServerCallContext context) => CallerIdentity.Anonymous;
}
