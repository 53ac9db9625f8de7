using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Edge;

public sealed class ChatRequestMapperTests
{
    private static ChatCompletionRequest Parse(string json) =>
        JsonSerializer.Deserialize(json, OpenAiEdgeJsonContext.Default.ChatCompletionRequest)!;

    private static List<string> Fields(RpcException ex) =>
        ex.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();

    [Fact]
    public void Map_Conversation_LastUserIsPromptEarlierTurnsAreHistorySystemIsInstructions()
    {
        var call = ChatRequestMapper.Map(Parse("""
            {"model":"sim-pro","max_tokens":50,"temperature":0,"messages":[
              {"role":"system","content":"Answer in French."},
              {"role":"user","content":"hello"},
              {"role":"assistant","content":"bonjour"},
              {"role":"developer","content":[{"type":"text","text":"Be brief."}]},
              {"role":"user","content":[{"type":"text","text":"explain"},{"type":"text","text":"retries"}]}]}
            """));

        Assert.Equal(TaskType.Chat, call.Task.TaskType);
        Assert.Equal("explain\nretries", call.Task.Prompt);
        Assert.Equal([new ChatMessage(ChatRole.User, "hello"), new ChatMessage(ChatRole.Assistant, "bonjour")], call.Task.History);
        Assert.Equal("Answer in French.\n\nBe brief.", call.Task.CustomInstructions);
        Assert.Equal(Persona.Custom, call.Task.Persona);
        Assert.Equal(50, call.Task.MaxTokens);
        Assert.Equal(0, call.Task.Temperature);
        Assert.True(call.Task.TemperatureSet);
        Assert.Equal("sim-pro", call.Model);
        Assert.False(call.IsAuto);
        Assert.False(call.Stream);
    }

    [Fact]
    public void Map_NoSystemMessage_RouterChoosesPersona()
    {
        var call = ChatRequestMapper.Map(Parse("""{"model":"auto","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(Persona.Unspecified, call.Task.Persona);
        Assert.True(call.IsAuto);
        Assert.Empty(call.Task.History);
    }

    [Fact]
    public void Map_MaxCompletionTokens_WinsOverMaxTokens()
    {
        var call = ChatRequestMapper.Map(Parse("""{"model":"auto","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(20, call.Task.MaxTokens);
    }

    [Fact]
    public void Map_StreamWithIncludeUsage_BothSet()
    {
        var call = ChatRequestMapper.Map(Parse("""{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"fallbacks":["sim-fast"]}"""));
        Assert.True(call.Stream);
        Assert.True(call.IncludeUsage);
        Assert.Equal(["sim-fast"], call.Fallbacks);
    }

    [Fact]
    public void Map_EveryViolation_OneInvalidArgumentNamingOpenAiParams()
    {
        var ex = Assert.Throws<RpcException>(() => ChatRequestMapper.Map(Parse("""
            {"model":"","n":2,"temperature":3,"max_tokens":0,"stream_options":{"include_usage":true},
             "tools":[{"type":"function"}],"fallbacks":["", "auto"],
             "messages":[{"role":"tool","content":"x"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]},{"role":"assistant","content":"last"}]}
            """)));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var fields = Fields(ex);
        foreach (var expected in new[] { "model", "n", "temperature", "max_tokens", "stream_options", "tools[0]", "fallbacks[0]", "fallbacks[1]", "messages[0].tool_call_id", "messages[1].content[0].image_url.url", "messages" })
        {
            Assert.Contains(expected, fields);
        }
    }

    [Fact]
    public void Map_EmptyMessages_Refused()
    {
        var ex = Assert.Throws<RpcException>(() => ChatRequestMapper.Map(Parse("""{"model":"auto","messages":[]}""")));
        Assert.Contains("messages", Fields(ex));
    }

    [Fact]
    public void Map_ToolConversationEndingWithResults_ToolsChoiceOptionsAndTurns()
    {
        var call = ChatRequestMapper.Map(Parse("""
            {"model":"auto","temperature":0,"tools":[{"type":"function","function":{"name":"read_file","description":"Reads","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}}],
             "tool_choice":{"type":"function","function":{"name":"read_file"}},"parallel_tool_calls":false,
             "stop":"END","seed":3,"top_p":0.9,"presence_penalty":1,"frequency_penalty":-1,"user":"u","response_format":{"type":"json_object"},
             "messages":[{"role":"user","content":[{"type":"text","text":"read it"},{"type":"image_url","image_url":{"url":"https://example.com/x.png","detail":"high"}}]},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a\"}"}}]},
               {"role":"tool","tool_call_id":"c1","content":"file body"}]}
            """));

        var task = call.Task;
        Assert.True(task.EndsWithToolResults);
        Assert.Equal("read it", task.Prompt);
        Assert.Equal(3, task.History.Count);
        Assert.Equal("https://example.com/x.png", Assert.Single(task.History[0].Images).Url);
        Assert.Equal(new ToolCall("c1", "read_file", """{"path":"a"}"""), Assert.Single(task.History[1].ToolCalls));
        Assert.Equal(ChatRole.Tool, task.History[2].Role);
        Assert.Equal("c1", task.History[2].ToolCallId);
        Assert.Equal("read_file", task.History[2].ToolName);
        var tool = Assert.Single(task.Tools);
        Assert.Equal("read_file", tool.Name);
        Assert.Contains("\"path\"", tool.ParametersJsonSchema, StringComparison.Ordinal);
        Assert.Equal(new ToolChoice(ToolChoiceKind.Named, "read_file"), task.ToolChoice);
        Assert.False(task.ParallelToolCalls);
        Assert.Equal(["END"], task.Sampling.Stop);
        Assert.Equal(3, task.Sampling.Seed);
        Assert.Equal(ResponseFormatKind.JsonObject, task.Sampling.ResponseFormat!.Kind);
        Assert.Equal(RequestFeatures.Tools | RequestFeatures.Images | RequestFeatures.Seed | RequestFeatures.Penalties | RequestFeatures.JsonObject, task.RequiredFeatures);
    }

    [Fact]
    public void Map_BadToolsImagesAndOptions_EachNamed()
    {
        var ex = Assert.Throws<RpcException>(() => ChatRequestMapper.Map(Parse("""
            {"model":"auto","tools":[{"type":"function","function":{"name":"bad name!"}},{"type":"code_interpreter"}],"tool_choice":"sometimes",
             "functions":[],"stop":["a","b","c","d","e"],"top_p":2,"presence_penalty":3,"response_format":{"type":"xml"},
             "messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"nope","content":"r"},
               {"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}},{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}
            """)));

        var fields = Fields(ex);
        foreach (var expected in new[] { "tools[0].function.name", "tools[1]", "tool_choice", "functions", "stop", "top_p", "presence_penalty", "response_format",
            "messages[1].tool_call_id", "messages[2].content[0].image_url.url", "messages[2].content[1].image_url.url" })
        {
            Assert.Contains(expected, fields);
        }
    }
}
