using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Edge;

public sealed class ResponsesRequestMapperTests
{
    private static ResponsesRequest Parse(string json) =>
        JsonSerializer.Deserialize(json, ResponsesJsonContext.Default.ResponsesRequest)!;

    private static List<string> Fields(RpcException ex) =>
        ex.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();

    [Fact]
    public void Map_StringInput_IsThePromptInstructionsTheSystemPrompt()
    {
        var call = ResponsesRequestMapper.Map(Parse("""{"model":"sim-pro","instructions":"Be brief.","input":"explain retries","max_output_tokens":50,"temperature":0,"top_p":0.5,"user":"u-1","stream":true}"""));
        Assert.Equal(TaskType.Chat, call.Task.TaskType);
        Assert.Equal("explain retries", call.Task.Prompt);
        Assert.Empty(call.Task.History);
        Assert.Equal("Be brief.", call.Task.CustomInstructions);
        Assert.Equal(Persona.Custom, call.Task.Persona);
        Assert.Equal(50, call.Task.MaxTokens);
        Assert.True(call.Task.TemperatureSet);
        Assert.Equal(0.5, call.Task.Sampling.TopP);
        Assert.Equal("u-1", call.Task.Sampling.User);
        Assert.True(call.Stream);
        Assert.False(call.Task.EndsWithToolResults);
    }

    [Fact]
    public void Map_CodexConversation_ToolsCallsAndOutputsBecomeHistoryEndingWithToolResults()
    {
        var call = ResponsesRequestMapper.Map(Parse("""
            {"model":"sim-pro","stream":true,"store":false,"tool_choice":"auto","parallel_tool_calls":false,
             "reasoning":{"summary":"auto"},"include":["reasoning.encrypted_content"],"prompt_cache_key":"k",
             "tools":[{"type":"function","name":"exec_command","description":"Runs a command","strict":false,
                       "parameters":{"type":"object","properties":{"cmd":{"type":"string"}},"required":["cmd"]}}],
             "input":[
              {"type":"message","role":"developer","content":[{"type":"input_text","text":"You are a coding agent."}]},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context/>"}]},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"write ok to proof.txt"}]},
              {"type":"reasoning","summary":[]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Writing it."}]},
              {"type":"function_call","call_id":"call_1","name":"exec_command","arguments":"{\"cmd\":\"echo ok > proof.txt\"}"},
              {"type":"function_call","call_id":"call_2","name":"exec_command","arguments":"{\"cmd\":\"ls\"}"},
              {"type":"function_call_output","call_id":"call_1","output":"done"},
              {"type":"function_call_output","call_id":"call_2","output":"proof.txt"}]}
            """));

        Assert.True(call.Task.EndsWithToolResults);
        Assert.Equal("You are a coding agent.", call.Task.CustomInstructions);
        Assert.Equal("<environment_context/>\n\nwrite ok to proof.txt", call.Task.Prompt);
        var history = call.Task.History;
        Assert.Equal(4, history.Count);
        Assert.Equal(ChatRole.User, history[0].Role);
        Assert.Equal(ChatRole.Assistant, history[1].Role);
        Assert.Equal("Writing it.", history[1].Content);
        Assert.Equal([new ToolCall("call_1", "exec_command", """{"cmd":"echo ok > proof.txt"}"""), new ToolCall("call_2", "exec_command", """{"cmd":"ls"}""")], history[1].ToolCalls);
        Assert.Equal(new ChatMessage(ChatRole.Tool, "done") { ToolCallId = "call_1", ToolName = "exec_command" }, history[2]);
        Assert.Equal("call_2", history[3].ToolCallId);
        var tool = Assert.Single(call.Task.Tools);
        Assert.Equal("exec_command", tool.Name);
        Assert.Equal("Runs a command", tool.Description);
        Assert.Contains("\"cmd\"", tool.ParametersJsonSchema, StringComparison.Ordinal);
        Assert.Equal(ToolChoice.Auto, call.Task.ToolChoice);
        Assert.False(call.Task.ParallelToolCalls);
        Assert.True(call.Task.RequiredFeatures.HasFlag(RequestFeatures.Tools));
    }

    [Fact]
    public void Map_ImagesNamedToolChoiceAndJsonSchema_Honoured()
    {
        var call = ResponsesRequestMapper.Map(Parse("""
            {"model":"auto","tool_choice":{"type":"function","name":"f"},"tools":[{"type":"function","name":"f"}],
             "text":{"format":{"type":"json_schema","name":"answer","strict":true,"schema":{"type":"object"}}},
             "input":[{"role":"user","content":[{"type":"input_text","text":"what is this"},
               {"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="},
               {"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]}]}
            """));
        Assert.Equal("what is this", call.Task.Prompt);
        Assert.Equal(2, call.Task.PromptImages.Count);
        Assert.Equal("image/png", call.Task.PromptImages[0].MediaType);
        Assert.Equal("iVBORw0KGgo=", call.Task.PromptImages[0].Base64Data);
        Assert.Equal("https://example.com/a.png", call.Task.PromptImages[1].Url);
        Assert.Equal(new ToolChoice(ToolChoiceKind.Named, "f"), call.Task.ToolChoice);
        Assert.Equal(new ResponseFormat(ResponseFormatKind.JsonSchema, "answer", """{"type":"object"}""", true), call.Task.Sampling.ResponseFormat);
        Assert.True(call.IsAuto);
    }

    [Fact]
    public void Map_JsonObjectFormat_IsTheResponseFormat()
    {
        var call = ResponsesRequestMapper.Map(Parse("""{"model":"sim-pro","input":"list","text":{"format":{"type":"json_object"}}}"""));
        Assert.Equal(ResponseFormatKind.JsonObject, call.Task.Sampling.ResponseFormat?.Kind);
    }

    [Fact]
    public void Map_WhatCannotBeHonoured_RefusedWithEveryField()
    {
        var ex = Assert.Throws<RpcException>(() => ResponsesRequestMapper.Map(Parse("""
            {"model":"","previous_response_id":"resp_1","top_p":2,"max_output_tokens":0,
             "tools":[{"type":"web_search"},{"type":"function","name":"bad name"}],
             "tool_choice":{"type":"function","name":"missing"},
             "text":{"format":{"type":"xml"}},
             "input":[{"type":"function_call_output","call_id":"nope","output":"x"},{"type":"file_search_call"},
                      {"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}
            """)));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var fields = Fields(ex);
        foreach (var field in new[] { "model", "previous_response_id", "top_p", "max_output_tokens", "tools[0].type", "tools[1].name", "tool_choice.name", "text.format.type", "input[0].call_id", "input[1].type", "input[2].content[0]" })
        {
            Assert.Contains(field, fields);
        }
    }

    [Fact]
    public void Map_InputEndingWithAssistant_Refused()
    {
        var ex = Assert.Throws<RpcException>(() => ResponsesRequestMapper.Map(Parse("""{"model":"sim-pro","input":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""")));
        Assert.Contains("input", Fields(ex));
        var missing = Assert.Throws<RpcException>(() => ResponsesRequestMapper.Map(Parse("""{"model":"sim-pro"}""")));
        Assert.Contains("input", Fields(missing));
    }
}
