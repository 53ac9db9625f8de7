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
