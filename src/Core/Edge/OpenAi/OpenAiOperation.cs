namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// Endpoint metadata of an OpenAI-compatible endpoint: the operation scopes and limits key it by
/// (<see cref="Calls.CallOperations"/>), its name in metrics and logs, and whether admission applies.
/// </summary>
internal sealed record OpenAiOperation(string Operation, string Rpc, bool Admitted);
