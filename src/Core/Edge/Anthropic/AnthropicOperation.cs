namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>
/// Endpoint metadata of an Anthropic-compatible endpoint: the operation scopes and limits key it by
/// (<see cref="Calls.CallOperations"/>), its name in metrics and logs, and whether admission applies.
/// </summary>
internal sealed record AnthropicOperation(string Operation, string Rpc, bool Admitted);
