using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// An <see cref="ExecuteRequest"/> as admission sees it: the texts and the output it asks for, mapped
/// without validation (the handler validates, so an invalid request is still admitted, counted and
/// refused with INVALID_ARGUMENT exactly as before). History the session adds later is not counted:
/// a gRPC request carries none of its own.
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
    };
}
