using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// An <see cref="ExecuteRequest"/> as admission sees it: the texts and the output it asks for, mapped
/// without validation (the handler validates, so an invalid request is still admitted, counted and
/// refused with INVALID_ARGUMENT exactly as before). A <c>messages</c> conversation, tools and images
/// count (agents resend their whole context each turn); history a session adds later is not counted.
/// </summary>
internal static class ExecuteTask
{
    public static TaskRequest ForAdmission(ExecuteRequest request, int defaultMaxTokens) => new()
    {
        TaskType = request.TaskType,
        Prompt = request.Prompt,
        CustomInstructions = request.CustomInstructions,
        Files = request.Files.Select(f => new TaskFile(f.Path, f.Content, f.Type)).ToList(),
        MaxTokens = request.HasMaxTokens ? request.MaxTokens : defaultMaxTokens,
        History = request.Messages.Select(Turn).ToList(),
        PromptImages = request.Images.Select(Image).ToList(),
        Tools = request.Tools.Select(t => new ToolDefinition(t.Name, t.Description, t.ParametersJsonSchema)).ToList(),
    };

    private static ChatMessage Turn(Message message) => new(
        message.Role switch
        {
            MessageRole.System => ChatRole.System,
            MessageRole.Assistant => ChatRole.Assistant,
            MessageRole.Tool => ChatRole.Tool,
            _ => ChatRole.User,
        },
        message.Text)
    {
        Images = message.Images.Select(Image).ToList(),
        ToolCalls = message.ToolCalls.Select(c => new Providers.ToolCall(c.Id, c.Name, c.ArgumentsJson)).ToList(),
        ToolCallId = message.ToolCallId,
    };

    private static ImagePart Image(V1.Image image) => image.SourceCase == V1.Image.SourceOneofCase.Data
        ? new ImagePart { Base64Data = image.Data.ToBase64(), MediaType = image.MediaType }
        : new ImagePart { Url = image.Url };
}
