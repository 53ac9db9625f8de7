using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Edge.Anthropic;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Edge;

public sealed class AnthropicRequestMapperTests
{
    private static MessagesRequest Parse(string json) =>
        JsonSerializer.Deserialize(json, AnthropicEdgeJsonContext.Default.MessagesRequest)!;

    private static List<string> Fields(RpcException ex) =>
        ex.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();

    [Fact]
    public void Map_TextConversation_SystemBlocksAreInstructionsLastUserIsPromptRestIsHistory()
    {
        var call = AnthropicRequestMapper.Map(Parse("""
            {"model":"sim-pro","max_tokens":50,"temperature":0.5,"top_p":0.9,"stop_sequences":["END"],"metadata":{"user_id":"u-1"},
             "system":[{"type":"text","text":"You review code."},{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"hello","cache_control":{"type":"ephemeral"}}]},
               {"role":"assistant","content":"hi"},
               {"role":"user","content":[{"type":"text","text":"explain"},{"type":"text","text":"retries"}]}]}
            """));

        Assert.Equal("sim-pro", call.Model);
        Assert.False(call.Stream);
        var task = call.Task;
        Assert.Equal(TaskType.Chat, task.TaskType);
        Assert.Equal(Persona.Custom, task.Persona);
        Assert.Equal("You review code.\n\nBe brief.", task.CustomInstructions);
        Assert.Equal("explain\nretries", task.Prompt);
        Assert.False(task.EndsWithToolResults);
        Assert.Equal(50, task.MaxTokens);
        Assert.Equal(0.5, task.Temperature);
        Assert.True(task.TemperatureSet);
        Assert.Equal([(ChatRole.User, "hello", true), (ChatRole.Assistant, "hi", false)], task.History.Select(m => (m.Role, m.Content, m.CacheBreakpoint)));
        Assert.Equal(["END"], task.Sampling.Stop);
        Assert.Equal(0.9, task.Sampling.TopP);
        Assert.Equal("u-1", task.Sampling.User);
        Assert.Empty(task.Tools);
    }

    [Fact]
    public void Map_ToolConversation_EndsWithToolResultsAndCarriesCallsResultsToolsAndChoice()
    {
        var call = AnthropicRequestMapper.Map(Parse("""
            {"model":"auto","max_tokens":100,"stream":true,
             "tools":[{"name":"read_file","description":"Reads a file.","input_schema":{"type":"object","properties":{"path":{"type":"string"}}},"cache_control":{"type":"ephemeral"}},
                      {"name":"write_file","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"tool","name":"read_file","disable_parallel_tool_use":true},
             "messages":[
               {"role":"user","content":"fix main.rs"},
               {"role":"assistant","content":[{"type":"text","text":"Reading it."},
                 {"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"main.rs"}},
                 {"type":"tool_use","id":"toolu_2","name":"read_file","input":{"path":"lib.rs"}}]},
               {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"toolu_1","content":"fn main() {}"},
                 {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"no such file"}],"is_error":true,"cache_control":{"type":"ephemeral"}}]}]}
            """));

        Assert.True(call.IsAuto);
        Assert.True(call.Stream);
        var task = call.Task;
        Assert.True(task.EndsWithToolResults);
        Assert.Equal("fix main.rs", task.Prompt);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Tool], task.History.Select(m => m.Role));
        var assistant = task.History[1];
        Assert.Equal("Reading it.", assistant.Content);
        Assert.Equal([new ToolCall("toolu_1", "read_file", """{"path":"main.rs"}"""), new ToolCall("toolu_2", "read_file", """{"path":"lib.rs"}""")], assistant.ToolCalls);
        var (first, second) = (task.History[2], task.History[3]);
        Assert.Equal(("toolu_1", "read_file", "fn main() {}", false, false), (first.ToolCallId, first.ToolName, first.Content, first.ToolError, first.CacheBreakpoint));
        Assert.Equal(("toolu_2", "read_file", "no such file", true, true), (second.ToolCallId, second.ToolName, second.Content, second.ToolError, second.CacheBreakpoint));
        Assert.Equal(["read_file", "write_file"], task.Tools.Select(t => t.Name));
        Assert.True(task.Tools[0].CacheBreakpoint);
        Assert.False(task.Tools[1].CacheBreakpoint);
        Assert.Equal("Reads a file.", task.Tools[0].Description);
        Assert.Equal("""{"type":"object","properties":{"path":{"type":"string"}}}""", task.Tools[0].ParametersJsonSchema);
        Assert.Equal(new ToolChoice(ToolChoiceKind.Named, "read_file"), task.ToolChoice);
        Assert.False(task.ParallelToolCalls);
        Assert.True(task.RequiredFeatures.HasFlag(RequestFeatures.Tools));
    }

    [Fact]
    public void Map_ToolResultsThenText_TextIsThePromptAfterTheResults()
    {
        var task = AnthropicRequestMapper.Map(Parse("""
            {"model":"sim-fast","max_tokens":10,"messages":[
               {"role":"user","content":"go"},
               {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"ls","input":{}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a.txt"},{"type":"text","text":"now summarise"}]}]}
            """)).Task;
        Assert.False(task.EndsWithToolResults);
        Assert.Equal("now summarise", task.Prompt);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], task.History.Select(m => m.Role));
    }

    [Fact]
    public void Map_Images_Base64AndUrlBecomePromptImages()
    {
        var task = AnthropicRequestMapper.Map(Parse("""
            {"model":"sim-fast","max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}},
              {"type":"text","text":"what is this?"}]}]}
            """)).Task;
        Assert.Equal("what is this?", task.Prompt);
        Assert.Equal([new ImagePart { MediaType = "image/png", Base64Data = "iVBORw0KGgo=" }, new ImagePart { Url = "https://example.com/a.jpg" }], task.PromptImages);
        Assert.True(task.RequiredFeatures.HasFlag(RequestFeatures.Images));
    }

    [Theory]
    [InlineData("auto", "Auto")]
    [InlineData("any", "Required")]
    [InlineData("none", "None")]
    public void Map_ToolChoice_Kinds(string type, string kind)
    {
        var task = AnthropicRequestMapper.Map(Parse($$$"""
            {"model":"sim-fast","max_tokens":10,"tools":[{"name":"ls","input_schema":{"type":"object"}}],"tool_choice":{"type":"{{{type}}}"},
             "messages":[{"role":"user","content":"hi"}]}
            """)).Task;
        Assert.Equal(kind, task.ToolChoice.Kind.ToString());
        Assert.Null(task.ParallelToolCalls);
    }

    [Fact]
    public void Map_EverythingWrong_OneInvalidArgumentNamingEachField()
    {
        var ex = Assert.Throws<RpcException>(() => AnthropicRequestMapper.Map(Parse("""
            {"model":"","temperature":1.5,"top_k":3,"thinking":{"type":"always"},
             "tools":[{"name":"bad name","input_schema":{"type":"object"}},{"name":"x"},{"type":"bash_20250124","name":"bash"}],
             "tool_choice":{"type":"tool","name":"missing"},
             "messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/tiff","data":"AAAA"}},
                                                   {"type":"tool_result","content":"x"},{"type":"document","source":{}}]},
                         {"role":"assistant","content":[{"type":"tool_use","name":"ls","input":[]}]}]}
            """)));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var fields = Fields(ex);
        foreach (var field in new[]
                 {
                     "model", "max_tokens", "temperature", "top_k", "thinking.type", "tools[0].name", "tools[1].input_schema", "tools[2].type",
                     "tool_choice", "messages[0].content[0].source.media_type", "messages[0].content[1].tool_use_id",
                     "messages[0].content[2].type", "messages[1].content[0].id", "messages[1].content[0].input", "messages[1].role",
                 })
        {
            Assert.Contains(field, fields);
        }
    }

    [Fact]
    public void Map_ClaudeCodeShape_SystemMessagesJoinTheSystemPromptAndThinkingIsAccepted()
    {
        // What Claude Code 2.1 sends: a system-role message after the user's (with a cache breakpoint),
        // adaptive thinking, context management and an effort setting.
        var call = AnthropicRequestMapper.Map(Parse("""
            {"model":"sim-fast","max_tokens":32000,"stream":true,
             "system":[{"type":"text","text":"You are Claude Code."}],
             "thinking":{"type":"adaptive","display":"omitted"},
             "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
             "output_config":{"effort":"high"},
             "messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>r</system-reminder>"},{"type":"text","text":"write the file"}]},
                         {"role":"system","content":[{"type":"text","text":"# Environment\ncwd: /p","cache_control":{"type":"ephemeral"}}]}]}
            """));
        Assert.Equal("You are Claude Code.\n\n# Environment\ncwd: /p", call.Task.CustomInstructions);
        Assert.True(call.Task.SystemCacheBreakpoint);
        Assert.Contains("write the file", call.Task.Prompt, StringComparison.Ordinal);
        Assert.Empty(call.Task.History);
        Assert.True(call.Stream);
    }

    [Theory]
    [InlineData("""{"type":"enabled","budget_tokens":2000}""")]
    [InlineData("""{"type":"disabled"}""")]
    [InlineData("""{"type":"adaptive"}""")]
    public void Map_Thinking_AcceptedAsAnAllowance(string thinking)
    {
        var call = AnthropicRequestMapper.Map(Parse($$"""{"model":"sim-fast","max_tokens":10,"thinking":{{thinking}},"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal("hi", call.Task.Prompt);
    }

    [Fact]
    public void Map_SystemMessageWithAnImageOrOnlySystemMessages_InvalidArgument()
    {
        var ex = Assert.Throws<RpcException>(() => AnthropicRequestMapper.Map(Parse("""
            {"model":"sim-fast","max_tokens":10,"messages":[{"role":"system","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}
            """)));
        var fields = Fields(ex);
        Assert.Contains("messages[0].content[0].type", fields);
        Assert.Contains("messages[0].role", fields);
    }

    [Fact]
    public void Map_CountOnly_MaxTokensNotRequired()
    {
        var call = AnthropicRequestMapper.Map(Parse("""{"model":"sim-fast","messages":[{"role":"user","content":"hi"}]}"""), countOnly: true);
        Assert.Equal("hi", call.Task.Prompt);
        Assert.Throws<RpcException>(() => AnthropicRequestMapper.Map(Parse("""{"model":"sim-fast","messages":[{"role":"user","content":"hi"}]}""")));
    }

    [Fact]
    public void UsageOf_InputTokensExcludeCacheReadsAndWrites()
    {
        var usage = AnthropicMessagesService.UsageOf(new TokenUsage(1000, 50, CachedInputTokens: 700, CacheWriteInputTokens: 200));
        Assert.Equal((100L, 50L, 700L, 200L), (usage.InputTokens, usage.OutputTokens, usage.CacheReadInputTokens, usage.CacheCreationInputTokens));
    }

    [Theory]
    [InlineData(FinishReason.Stop, false, "end_turn")]
    [InlineData(FinishReason.Length, false, "max_tokens")]
    [InlineData(FinishReason.ToolCalls, true, "tool_use")]
    [InlineData(FinishReason.ContentFilter, false, "refusal")]
    public void StopReasonOf_MapsFinishReasons(FinishReason reason, bool toolCalls, string expected) =>
        Assert.Equal(expected, AnthropicMessagesService.StopReasonOf(reason, toolCalls));

    [Fact]
    public void InputOf_ArgumentsObjectKeptOtherwiseWrapped()
    {
        Assert.Equal("""{"a":1}""", AnthropicMessagesService.InputOf("""{"a":1}""").GetRawText());
        Assert.Equal("{}", AnthropicMessagesService.InputOf("").GetRawText());
        Assert.Equal("""{"arguments":"not json"}""", AnthropicMessagesService.InputOf("not json").GetRawText());
    }
}

/// <summary>
/// Claude Code marks its system prompt and its last user turn with <c>cache_control</c>: both reach an
/// Anthropic upstream as <c>cache_control</c> on the same places (system block and the prompt turn's last block).
/// </summary>
public sealed class AnthropicCacheBreakpointTests
{
    [Fact]
    public void SystemAndPromptBreakpoints_ReachTheAnthropicUpstreamBody()
    {
        var request = System.Text.Json.JsonSerializer.Deserialize("""
            {"model":"x","max_tokens":50,
             "system":[{"type":"text","text":"You are a coding agent.","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},
               {"role":"user","content":[{"type":"text","text":"now fix the bug","cache_control":{"type":"ephemeral"}}]}]}
            """, AnthropicEdgeJsonContext.Default.MessagesRequest)!;
        var task = AnthropicRequestMapper.Map(request).Task;
        Assert.True(task.SystemCacheBreakpoint);
        Assert.True(task.PromptCacheBreakpoint);

        var model = new CatalogModel { Id = "claude-test", Provider = "anthropic", ContextWindow = 200_000, MaxOutputTokens = 8192 };
        var messages = MonkeyCoder.Core.Execution.PromptBuilder.Build(task, task.Persona);
        Assert.True(messages[0].CacheBreakpoint);
        Assert.True(messages[^1].CacheBreakpoint);
        Assert.False(messages[1].CacheBreakpoint);

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            MonkeyCoder.Core.Providers.Anthropic.AnthropicRequestBody.Write(json, new ProviderRequest { Model = model, Messages = messages, MaxTokens = 50 }, stream: false, "anthropic");
        }

        using var body = System.Text.Json.JsonDocument.Parse(buffer.WrittenMemory);
        var system = body.RootElement.GetProperty("system");
        Assert.Equal("ephemeral", system[system.GetArrayLength() - 1].GetProperty("cache_control").GetProperty("type").GetString());
        var last = body.RootElement.GetProperty("messages")[body.RootElement.GetProperty("messages").GetArrayLength() - 1];
        var blocks = last.GetProperty("content");
        Assert.Equal("ephemeral", blocks[blocks.GetArrayLength() - 1].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.False(body.RootElement.GetProperty("messages")[0].ToString().Contains("cache_control", StringComparison.Ordinal));
    }

    [Fact]
    public void NoCacheControl_NoBreakpoints()
    {
        var request = System.Text.Json.JsonSerializer.Deserialize("""
            {"model":"x","max_tokens":50,"system":"plain","messages":[{"role":"user","content":"hi"}]}
            """, AnthropicEdgeJsonContext.Default.MessagesRequest)!;
        var task = AnthropicRequestMapper.Map(request).Task;
        Assert.False(task.SystemCacheBreakpoint);
        Assert.False(task.PromptCacheBreakpoint);
    }
}
