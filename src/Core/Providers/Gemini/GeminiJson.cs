using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Providers.Gemini;

// Shapes of generateContent / streamGenerateContent responses (GenerateContentResponse), only the fields we read.

internal sealed class GenerateContentResponse
{
    public List<GeminiCandidate>? Candidates { get; set; }

    public GeminiPromptFeedback? PromptFeedback { get; set; }

    public GeminiUsage? UsageMetadata { get; set; }

    public string? ModelVersion { get; set; }

    /// <summary>An error object sent as a stream event.</summary>
    public System.Text.Json.JsonElement? Error { get; set; }
}

internal sealed class GeminiCandidate
{
    public GeminiContent? Content { get; set; }

    public string? FinishReason { get; set; }

    public int Index { get; set; }
}

internal sealed class GeminiContent
{
    public string? Role { get; set; }

    public List<GeminiPart>? Parts { get; set; }
}

internal sealed class GeminiPart
{
    public string? Text { get; set; }

    /// <summary>Thought summaries are not part of the answer.</summary>
    public bool? Thought { get; set; }

    /// <summary>A call the model made: name and args (an object), in full in one part, also when streamed.</summary>
    public GeminiFunctionCall? FunctionCall { get; set; }
}

internal sealed class GeminiFunctionCall
{
    /// <summary>Set by some Gemini surfaces (Live API, Vertex); the generateContent API usually leaves it out.</summary>
    public string? Id { get; set; }

    public string? Name { get; set; }

    public System.Text.Json.JsonElement? Args { get; set; }
}

internal sealed class GeminiPromptFeedback
{
    public string? BlockReason { get; set; }
}

internal sealed class GeminiUsage
{
    public long? PromptTokenCount { get; set; }

    public long? CandidatesTokenCount { get; set; }

    /// <summary>Thinking tokens: billed as output.</summary>
    public long? ThoughtsTokenCount { get; set; }

    public long? TotalTokenCount { get; set; }

    /// <summary>Prompt tokens served from the context cache (implicit or explicit); included in <see cref="PromptTokenCount"/>.</summary>
    public long? CachedContentTokenCount { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(GenerateContentResponse))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
