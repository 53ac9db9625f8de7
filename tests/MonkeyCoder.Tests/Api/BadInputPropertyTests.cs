using System.Net;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Providers.OpenAi;
using MonkeyCoder.Tests.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Api;

/// <summary>
/// Arbitrary input (issue 16, "Bad input"): the request validator, the OpenAI request mapper and the
/// providers' SSE/JSON parsers answer INVALID_ARGUMENT (the OpenAI 400 shape: a JSON error) or a
/// provider failure, never an unhandled exception of another kind.
/// </summary>
public sealed class BadInputPropertyTests
{
    private static readonly TaskRequestValidator Validator = new(TestCatalog.Shipped());
    private static readonly CatalogModel Gpt = TestCatalog.Shipped().Find("gpt-4.1-mini", "openai")!;
    private static readonly CatalogModel Claude = TestCatalog.Shipped().Find("claude-sonnet-4-20250514", "anthropic")!;

    private const string ValidChat = """{"model":"auto","max_tokens":16,"temperature":0,"stream":false,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}]}""";

    [Property(MaxTest = 500)]
    public void Validate_ArbitraryExecuteRequest_TaskOrInvalidArgument(string? prompt, int taskType, int persona, int maxTokens, double temperature, int strategy,
        int parallel, string? sessionId, string? file, string? command, int collapse, NonNegativeInt files)
    {
        var request = new ExecuteRequest
        {
            Prompt = prompt ?? "",
            TaskType = (TaskType)taskType,
            Persona = (Persona)persona,
            MaxTokens = maxTokens,
            Temperature = temperature,
            StrategyOptions = new StrategyOptions { Strategy = (Strategy)strategy, ParallelVariants = parallel, CollapseStrategy = (CollapseStrategy)collapse, ConsensusThreshold = temperature },
            SessionId = sessionId ?? "",
        };
        for (var i = 0; i < Math.Min(files.Get, 3); i++)
        {
            request.Files.Add(new SourceFile { Path = file ?? "", Content = command ?? "", Type = file ?? "" });
        }

        request.SlashCommands.Add(command ?? "");
        Expect(() => Validator.Validate(request));
    }

    [Property(MaxTest = 1000)]
    public void OpenAiChat_MutatedJsonBody_ParsedAndMappedOrBadRequest(NonNegativeInt position, byte value, NonNegativeInt cut, bool insert)
    {
        var bytes = Encoding.UTF8.GetBytes(ValidChat).ToList();
        var at = position.Get % bytes.Count;
        if (insert)
        {
            bytes.Insert(at, value);
        }
        else
        {
            bytes[at] = value;
        }

        var body = bytes.Take(Math.Max(1, bytes.Count - cut.Get % 8)).ToArray();
        Expect(() =>
        {
            ChatCompletionRequest? request;
            try
            {
                request = JsonSerializer.Deserialize(body, OpenAiEdgeJsonContext.Default.ChatCompletionRequest);
            }
            catch (JsonException)
            {
                return null; // the endpoint answers 400 invalid_request_error (OpenAiErrors.BadJson)
            }

            return request is null ? null : ChatRequestMapper.Map(request);
        });
    }

    [Property(MaxTest = 300)]
    public void OpenAiChat_ArbitraryFields_MappedOrInvalidArgument(string? model, string? role, string? content, int? maxTokens, double? temperature, double? topP, bool stream)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = model,
            ["max_tokens"] = maxTokens,
            ["temperature"] = double.IsFinite(temperature ?? 0) ? temperature : null,
            ["top_p"] = double.IsFinite(topP ?? 0) ? topP : null,
            ["stream"] = stream,
            ["messages"] = new[] { new Dictionary<string, string?> { ["role"] = role, ["content"] = content } },
        }, BadInputJson.Default.DictionaryStringObject);
        Expect(() => JsonSerializer.Deserialize(json, OpenAiEdgeJsonContext.Default.ChatCompletionRequest) is { } r ? ChatRequestMapper.Map(r) : null);
    }

    [Property(MaxTest = 200)]
    public void ProviderStreams_ArbitraryBytes_ContentOrProviderFailure(byte[] noise, NonNegativeInt split, bool anthropic)
    {
        var prefix = anthropic ? "event: content_block_delta\ndata: " : "data: ";
        var wire = Encoding.UTF8.GetBytes(prefix).Concat(noise).Concat("\n\n"u8.ToArray()).ToArray();
        var pieces = wire.Chunk(1 + split.Get % 7).ToList();
        var handler = new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, new PiecewiseStream(pieces), "text/event-stream")));
        var settings = new ProviderClientSettings
        {
            Name = anthropic ? "anthropic" : "openai",
            BaseUrl = new Uri("https://api.example.test/v1"),
            ApiKey = "sk-unit-test-key",
            ResponseHeadersTimeout = TimeSpan.FromSeconds(10),
            StreamIdleTimeout = TimeSpan.FromSeconds(5),
        };
        using HttpProviderClient client = anthropic
            ? new AnthropicClient(settings, TestCatalog.Tokens, TimeProvider.System, NullLogger<AnthropicClient>.Instance, handler)
            : new OpenAiClient(settings, TestCatalog.Tokens, TimeProvider.System, NullLogger<OpenAiClient>.Instance, handler);
        var request = new ProviderRequest
        {
            Model = anthropic ? Claude : Gpt,
            Messages = [new ChatMessage(ChatRole.User, "hi")],
            MaxTokens = 16,
            Temperature = 0,
        };
        try
        {
            Task.Run(async () =>
            {
                await foreach (var _ in client.StreamAsync(request, CancellationToken.None))
                {
                }
            }).GetAwaiter().GetResult();
        }
        catch (ProviderException)
        {
            // A malformed or cut stream is a provider failure: retried or failed over, reported as UNAVAILABLE.
        }
    }

    /// <summary>Runs <paramref name="act"/>: a result, or INVALID_ARGUMENT with field violations; anything else fails the property.</summary>
    private static void Expect(Func<object?> act)
    {
        try
        {
            act();
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
        {
            Assert.NotNull(ex.GetRpcStatus());
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object?>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string?>[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
internal sealed partial class BadInputJson : System.Text.Json.Serialization.JsonSerializerContext;
