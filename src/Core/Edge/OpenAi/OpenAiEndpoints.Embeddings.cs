using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Providers.Embeddings;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// <c>POST /openai/v1/embeddings</c> on the OpenAI route group and call pipeline: the filter
/// authenticates, admits (the inputs' tokens) and validates (<see cref="EmbeddingsRequestMapper"/>);
/// <see cref="EmbeddingService"/> calls the model's provider and records the usage.
/// </summary>
internal sealed partial class OpenAiEndpoints
{
    public const string EmbeddingsRpc = "OpenAi/Embeddings";

    public static async Task EmbeddingsAsync(HttpContext context)
    {
        var current = CallContext.Current!;
        var call = (EmbeddingsCall)current.Input!;
        var service = context.RequestServices.GetRequiredService<EmbeddingService>();
        var (model, result) = await service.EmbedAsync(call.Model, call.Inputs, call.Dimensions, current.Caller, call.Charge, context.RequestAborted);
        var list = new EmbeddingList
        {
            Model = model.Id,
            Provider = model.Provider,
            Data = result.Vectors.Select((v, i) => new EmbeddingDto { Index = i, Embedding = v }).ToList(),
            Usage = new EmbeddingUsage { PromptTokens = result.InputTokens, TotalTokens = result.InputTokens },
        };
        await WriteJsonAsync(context, StatusCodes.Status200OK, list, EmbeddingsJsonContext.Default.EmbeddingList);
    }
}
