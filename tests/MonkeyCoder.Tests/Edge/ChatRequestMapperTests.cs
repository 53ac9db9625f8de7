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
}
