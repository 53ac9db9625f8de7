namespace MonkeyCoder.Core.Calls;

/// <summary>Operation names of the HTTP edges' own endpoints: scopes (<see cref="Auth.Scopes.ByMethod"/>) and limits are keyed by them, as RPCs by their method.</summary>
internal static class CallOperations
{
    /// <summary>Prefix of the HTTP edge's operations, so they never collide with a gRPC method.</summary>
    public const string EdgePrefix = "/openai/";

    public const string ChatCompletions = EdgePrefix + "openai.chat.completions";
    public const string Responses = EdgePrefix + "openai.responses";
    public const string Embeddings = EdgePrefix + "openai.embeddings";
    public const string ListModels = EdgePrefix + "openai.models.list";

    public const string AnthropicMessages = EdgePrefix + "anthropic.messages";
    public const string AnthropicCountTokens = EdgePrefix + "anthropic.messages.count_tokens";
    public const string AnthropicListModels = EdgePrefix + "anthropic.models.list";
}
