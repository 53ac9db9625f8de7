using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Calls;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>The Responses API's binding in the OpenAI edge's adapter: the same steps as a chat completion's, with the Responses body.</summary>
internal sealed partial class OpenAiCallFilter
{
    /// <summary>Reads and maps a Responses API body: the call's input, task and charge, and the texts the scrubbers keep out.</summary>
    private static async ValueTask BindResponsesAsync(CallContext call, HttpContext context)
    {
        if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw Api.RpcErrors.Create(StatusCode.InvalidArgument, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.",
                new Dictionary<string, string> { [ErrorMappingStep.HttpStatusKey] = "415" });
        }

        ResponsesRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, ResponsesJsonContext.Default.ResponsesRequest, call.CancellationToken);
        }
        catch (JsonException ex)
        {
            throw InvalidJson(ex.Message);
        }

        if (request is null)
        {
            throw InvalidJson("the body is null.");
        }

        if (call.Telemetry is { } telemetry)
        {
            telemetry.SensitiveValues = SensitiveValues(request);
        }

        var mapped = ResponsesRequestMapper.Map(request);
        call.Input = mapped;
        call.Task = mapped.Task;
        call.MaxTokensNamed = request.MaxOutputTokens is not null;
        call.Charge = mapped.Charge;
    }

    /// <summary>Reads and validates an embeddings body; admission estimates its inputs' tokens (a task with no output).</summary>
    private static async ValueTask BindEmbeddingsAsync(CallContext call, HttpContext context)
    {
        if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw Api.RpcErrors.Create(StatusCode.InvalidArgument, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.",
                new Dictionary<string, string> { [ErrorMappingStep.HttpStatusKey] = "415" });
        }

        EmbeddingsRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, EmbeddingsJsonContext.Default.EmbeddingsRequest, call.CancellationToken);
        }
        catch (JsonException ex)
        {
            throw InvalidJson(ex.Message);
        }

        if (request is null)
        {
            throw InvalidJson("the body is null.");
        }

        var mapped = EmbeddingsRequestMapper.Map(request);
        if (call.Telemetry is { } telemetry)
        {
            telemetry.SensitiveValues = [.. mapped.Inputs];
        }

        call.Input = mapped;
        call.Task = new Routing.TaskRequest { TaskType = V1.TaskType.Chat, Prompt = string.Join('\n', mapped.Inputs), MaxTokens = 1 };
        call.MaxTokensNamed = true;
        call.Charge = mapped.Charge;
    }

    /// <summary>The instructions and every text of the input: what a scrubber must keep out of Sentry and logs.</summary>
    private static List<string> SensitiveValues(ResponsesRequest request)
    {
        var values = new List<string>();
        if (request.Instructions is { Length: > 0 } instructions)
        {
            values.Add(instructions);
        }

        if (request.Input is { ValueKind: JsonValueKind.String } text)
        {
            values.Add(text.GetString() ?? "");
        }
        else if (request.Input is { ValueKind: JsonValueKind.Array } items)
        {
            foreach (var item in items.EnumerateArray())
            {
                Collect(item, values);
            }
        }

        return values;

        static void Collect(JsonElement element, List<string> values)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            foreach (var name in (ReadOnlySpan<string>)["text", "output", "arguments", "content"])
            {
                if (!element.TryGetProperty(name, out var value))
                {
                    continue;
                }

                if (value.ValueKind == JsonValueKind.String)
                {
                    values.Add(value.GetString() ?? "");
                }
                else if (value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in value.EnumerateArray())
                    {
                        Collect(part, values);
                    }
                }
            }
        }
    }
}
