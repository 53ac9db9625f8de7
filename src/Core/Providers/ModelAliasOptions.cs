namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Extra names for catalog models. Section <c>MonkeyCoder:Models</c>, key <c>Aliases</c>: name → catalog
/// id, alias or "provider/id" (e.g. <c>MonkeyCoder__Models__Aliases__claude-sonnet-4-5-20250929=anthropic/claude-sonnet-5-5</c>).
/// Coding agents send their vendor's own (often dated) model names; an alias lets every edge, the CLI
/// and the allow-lists accept them without a catalog file of our own. An empty target removes a default.
/// </summary>
public sealed class ModelAliasOptions
{
    public const string Section = "MonkeyCoder:Models";

    /// <summary>Configured aliases; they override <see cref="Defaults"/> of the same name.</summary>
    public Dictionary<string, string> Aliases { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The names Claude Code and Codex CLI send, mapped to the catalog's current models of the same
    /// tier. Applied only when the target exists (a replaced catalog may not have it) and the name is
    /// not already a catalog name.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Defaults { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["claude-opus-4-1-20250805"] = "anthropic/claude-opus-5-5",
        ["claude-opus-4-1"] = "anthropic/claude-opus-5-5",
        ["claude-sonnet-4-5-20250929"] = "anthropic/claude-sonnet-5-5",
        ["claude-sonnet-4-5"] = "anthropic/claude-sonnet-5-5",
        ["claude-haiku-4-5-20251001"] = "anthropic/claude-haiku-5-5",
        ["claude-haiku-4-5"] = "anthropic/claude-haiku-5-5",
        ["gpt-5"] = "openai/gpt-6.2-sol",
        ["gpt-5-codex"] = "openai/gpt-6.2-sol",
        ["gpt-5-mini"] = "openai/gpt-6-luna",
    };
}
