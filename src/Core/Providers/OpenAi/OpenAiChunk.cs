namespace MonkeyCoder.Core.Providers.OpenAi;

/// <summary>
/// What a stream reads from one <c>chat.completion.chunk</c>, filled by <see cref="OpenAiChunkParser"/>.
/// One instance serves a whole stream: each parse replaces the previous chunk's values, so a stream
/// of events allocates nothing here beyond the strings it hands on.
/// </summary>
internal sealed class OpenAiChunk
{
    /// <summary>The raw JSON of an error object sent inside the stream; null when the chunk has none.</summary>
    public string? ErrorJson { get; set; }

    /// <summary>The chunk's usage; null when absent or JSON null.</summary>
    public OpenAiUsage? Usage { get; set; }

    /// <summary>The chunk's choices with index 0 (the only one we request), in order.</summary>
    public List<OpenAiChoiceDelta> Choices { get; } = [];

    /// <summary>Tool-call pieces of <see cref="Choices"/>; each choice names its range.</summary>
    public List<ToolCallDelta> ToolCalls { get; } = [];

    public void Clear()
    {
        ErrorJson = null;
        Usage = null;
        Choices.Clear();
        ToolCalls.Clear();
    }
}
