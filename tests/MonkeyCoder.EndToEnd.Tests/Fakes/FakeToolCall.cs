namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>
/// A tool call a fake provider answers with, rendered in the provider's wire format (OpenAI
/// <c>tool_calls</c>, Anthropic <c>tool_use</c> blocks, Gemini <c>functionCall</c> parts). <see cref="Id"/>
/// null: the fake makes one in the provider's style (Gemini sends none).
/// </summary>
public sealed record FakeToolCall(string Name, string ArgumentsJson, string? Id = null)
{
    /// <summary>
    /// The arguments in the pieces a provider streams them in (about three, the first empty as Anthropic's
    /// first <c>input_json_delta</c> is): a cut between them leaves a half-written JSON object.
    /// </summary>
    public IReadOnlyList<string> ArgumentPieces()
    {
        var third = Math.Max(1, ArgumentsJson.Length / 3);
        var pieces = new List<string> { "" };
        for (var i = 0; i < ArgumentsJson.Length; i += third)
        {
            pieces.Add(ArgumentsJson.Substring(i, Math.Min(third, ArgumentsJson.Length - i)));
        }

        return pieces;
    }
}
