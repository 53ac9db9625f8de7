using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution.Recovery;

/// <summary>How a continuation asks the model to go on.</summary>
internal enum ContinuationForm
{
    /// <summary>The delivered text as a trailing assistant message: the model continues it (Anthropic, flagged models).</summary>
    Prefill,
    /// <summary>A user instruction quoting the delivered text; the repeated start of the answer is dropped.</summary>
    Instruction,
}

/// <summary>
/// Builds the request that continues a broken answer: the original conversation plus either the
/// delivered text as an assistant prefill, or an instruction that quotes it. Also what the
/// continuation's first text is compared against (<see cref="Overlap"/>).
/// </summary>
internal static class ContinuationRequests
{
    /// <summary>Marks the quoted text in the instruction; tests' fake providers find it by these.</summary>
    public const string QuoteStart = "<<<DELIVERED>>>";

    public const string QuoteEnd = "<<<END>>>";

    public static ProviderRequest Build(ProviderRequest original, string delivered, ContinuationForm form)
    {
        var messages = original.Messages.ToList();
        if (form == ContinuationForm.Prefill)
        {
            // Anthropic rejects a final assistant turn that ends in whitespace; the trimmed tail is
            // delivered already and is dropped again from the continuation's start (Overlap).
            messages.Add(new ChatMessage(ChatRole.Assistant, delivered.TrimEnd()));
        }
        else
        {
            messages.Add(new ChatMessage(ChatRole.User, Instruction(delivered)));
        }

        return original with { Messages = messages };
    }

    /// <summary>
    /// What the continuation's start may repeat: everything delivered (instruction form), or only
    /// the whitespace trimmed off the prefill (prefill form).
    /// </summary>
    public static string Overlap(string delivered, ContinuationForm form) =>
        form == ContinuationForm.Prefill ? delivered[delivered.TrimEnd().Length..] : delivered;

    public static string Instruction(string delivered) =>
        "Your previous answer to this request was cut off by a network failure. The part already delivered is quoted between "
        + QuoteStart + " and " + QuoteEnd + " below. Continue exactly where it stops: do not repeat any of it, add no preamble or commentary, "
        + "and keep the same format.\n"
        + QuoteStart + delivered + QuoteEnd;
}
