using System.Text;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Providers;

/// <summary>Context windows read from real model-list bodies (trimmed samples of each API's wire format).</summary>
public sealed class ModelListParserTests
{
    private static IReadOnlyDictionary<string, int> Parse(string json) => ModelListParser.ContextWindows(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void ContextWindows_VllmModels_MaxModelLen()
    {
        const string vllm = """
            {"object":"list","data":[{"id":"Qwen/Qwen2.5-Coder-32B-Instruct","object":"model","created":1733300000,
            "owned_by":"vllm","root":"Qwen/Qwen2.5-Coder-32B-Instruct","parent":null,"max_model_len":32768,
            "permission":[{"id":"modelperm-8f1c","object":"model_permission","created":1733300000,"allow_create_engine":false,
            "allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,"allow_view":true,"allow_fine_tuning":false,
            "organization":"*","group":null,"is_blocking":false}]},
            {"id":"qwen-lora","object":"model","created":1733300000,"owned_by":"vllm","root":"/adapters/qwen-lora",
            "parent":"Qwen/Qwen2.5-Coder-32B-Instruct","max_model_len":16384,"permission":[]}]}
            """;

        var windows = Parse(vllm);

        Assert.Equal(32768, windows["Qwen/Qwen2.5-Coder-32B-Instruct"]);
        Assert.Equal(16384, windows["qwen-lora"]);
    }

    [Fact]
    public void ContextWindows_OpenRouterModels_ContextLength()
    {
        const string openRouter = """
            {"data":[{"id":"qwen/qwen-2.5-coder-32b-instruct","canonical_slug":"qwen/qwen-2.5-coder-32b-instruct","name":"Qwen2.5 Coder 32B Instruct",
            "created":1731368400,"description":"Qwen2.5-Coder is the latest series…","context_length":32768,
            "architecture":{"modality":"text->text","input_modalities":["text"],"output_modalities":["text"],"tokenizer":"Qwen","instruct_type":"chatml"},
            "pricing":{"prompt":"0.00000004","completion":"0.00000016"},
            "top_provider":{"context_length":32768,"max_completion_tokens":32768,"is_moderated":false},
            "per_request_limits":null,"supported_parameters":["max_tokens","temperature"]}]}
            """;

        Assert.Equal(32768, Parse(openRouter)["qwen/qwen-2.5-coder-32b-instruct"]);
    }

    [Fact]
    public void ContextWindows_GroqModels_ContextWindow()
    {
        const string groq = """
            {"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","created":1733447754,"owned_by":"Meta",
            "active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":32768}]}
            """;

        Assert.Equal(131072, Parse(groq)["llama-3.3-70b-versatile"]);
    }

    [Fact]
    public void ContextWindows_GeminiModels_InputTokenLimitUnderTheBareId()
    {
        const string gemini = """
            {"models":[{"name":"models/gemini-2.5-pro","version":"2.5","displayName":"Gemini 2.5 Pro",
            "description":"Stable release (June 17th, 2025) of Gemini 2.5 Pro","inputTokenLimit":1048576,"outputTokenLimit":65536,
            "supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"],
            "temperature":1,"topP":0.95,"topK":64,"maxTemperature":2,"thinking":true},
            {"name":"models/text-embedding-004","version":"004","displayName":"Text Embedding 004","inputTokenLimit":2048,
            "outputTokenLimit":1,"supportedGenerationMethods":["embedContent"]}],"nextPageToken":"Ch5tb2RlbHMv"}
            """;

        var windows = Parse(gemini);

        Assert.Equal(1048576, windows["gemini-2.5-pro"]);
        Assert.Equal(2048, windows["text-embedding-004"]);
        Assert.False(windows.ContainsKey("models/gemini-2.5-pro"));
    }

    [Fact]
    public void ContextWindows_AnthropicAndOpenAiModels_NoneReported()
    {
        const string anthropic = """
            {"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],
            "has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-sonnet-4-5-20250929"}
            """;
        const string openAi = """
            {"object":"list","data":[{"id":"gpt-4.1","object":"model","created":1744316542,"owned_by":"system"}]}
            """;

        Assert.Empty(Parse(anthropic));
        Assert.Empty(Parse(openAi));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"data":[{"id":"m","max_model_len":"32768"},{"id":"n","max_model_len":-1},{"max_model_len":4096},{"id":"o","max_model_len":1e20}]}""")]
    [InlineData("""{"data":{"id":"m","max_model_len":4096}}""")]
    public void ContextWindows_MalformedOrUnreported_NoneAndNoThrow(string body)
    {
        var windows = Parse(body);

        Assert.DoesNotContain("m", windows.Keys);
        Assert.DoesNotContain("n", windows.Keys);
    }

    [Fact]
    public void ApplyReportedContextWindows_OnlyUnsetWindowsOfThatProvider_Change()
    {
        var document = new CatalogDocument
        {
            Providers = [new CatalogProvider { Name = "myvllm", Protocol = "openai" }, new CatalogProvider { Name = "other", Protocol = "openai" }],
            Models =
            [
                new CatalogModelOptions { Id = "unset" }.ToModel("myvllm"),
                new CatalogModelOptions { Id = "set", ContextWindow = 8192 }.ToModel("myvllm"),
                new CatalogModelOptions { Id = "elsewhere" }.ToModel("other"),
            ],
        };
        var catalog = new ModelCatalog(document);
        Assert.Equal(CatalogModelOptions.DefaultContextWindow, catalog.Find("unset")!.ContextWindow);
        Assert.True(catalog.HasUnsetContextWindows("myvllm"));

        var changed = catalog.ApplyReportedContextWindows("myvllm", new Dictionary<string, int> { ["unset"] = 131072, ["set"] = 65536, ["elsewhere"] = 4096 });

        Assert.Equal(["myvllm/unset"], changed.Select(m => m.Key));
        Assert.Equal(131072, catalog.Find("myvllm/unset")!.ContextWindow);
        Assert.Equal(131072, catalog.Models.Single(m => m.Id == "unset").ContextWindow);
        Assert.Equal(8192, catalog.Find("set")!.ContextWindow);
        Assert.Equal(CatalogModelOptions.DefaultContextWindow, catalog.Find("elsewhere")!.ContextWindow);
        // A later list that reports another window (the server restarted with a new max_model_len) is followed.
        Assert.Single(catalog.ApplyReportedContextWindows("myvllm", new Dictionary<string, int> { ["unset"] = 65536 }));
        Assert.Equal(65536, catalog.Find("unset")!.ContextWindow);
    }
}
