using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Api;

/// <summary>
/// The issue-19 fields of <see cref="ExecuteRequest"/> (tools, tool choice, messages, images, sampling
/// options, model pins): mapped onto the task, or refused with INVALID_ARGUMENT naming each field.
/// </summary>
public sealed class ConversationValidatorTests
{
    private readonly TaskRequestValidator _validator = new(TestCatalog.Shipped());

    private const string Schema = """{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}""";

    private static IReadOnlyList<string> ViolatedFields(Action act)
    {
        var ex = Assert.Throws<RpcException>(act);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        return ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();
    }

    private static ExecuteRequest Chat() => new() { TaskType = TaskType.Chat };

    [Fact]
    public void Tools_Mapped_WithChoiceAndParallelFlag()
    {
        var request = Chat();
        request.Prompt = "write the file";
        request.Tools.Add(new Tool { Name = "write_file", Description = "Writes a file", ParametersJsonSchema = Schema });
        request.Tools.Add(new Tool { Name = "read-file" });
        request.ToolChoice = new ToolChoiceOptions { Name = "write_file" };
        request.ParallelToolCalls = false;

        var task = _validator.Validate(request);

        Assert.Equal(["write_file", "read-file"], task.Tools.Select(t => t.Name));
        Assert.Equal(Schema, task.Tools[0].ParametersJsonSchema);
        Assert.True(ConversationValidator.IsJsonObject(task.Tools[1].ParametersJsonSchema));
        Assert.Equal(new Core.Providers.ToolChoice(ToolChoiceKind.Named, "write_file"), task.ToolChoice);
        Assert.False(task.ParallelToolCalls);
        Assert.True(task.RequiredFeatures.HasFlag(RequestFeatures.Tools));
    }

    [Fact]
    public void Tools_BadNamesSchemasAndChoice_EachReported()
    {
        var request = Chat();
        request.Prompt = "x";
        request.Tools.Add(new Tool { Name = "has space" });
        request.Tools.Add(new Tool { Name = "ok", ParametersJsonSchema = "[1,2]" });
        request.Tools.Add(new Tool { Name = "ok" });
        request.Tools.Add(new Tool { Name = new string('a', 65) });
        request.ToolChoice = new ToolChoiceOptions { Mode = ToolChoiceMode.Named, Name = "missing" };

        var fields = ViolatedFields(() => _validator.Validate(request));

        Assert.Equal(new[] { "tools[0].name", "tools[1].parameters_json_schema", "tools[2].name", "tools[3].name", "tool_choice.name" }.Order(), fields.Order());
    }

    [Fact]
    public void Tools_MoreThanTheLimit_Refused()
    {
        var request = Chat();
        request.Prompt = "x";
        for (var i = 0; i <= ConversationValidator.MaxTools; i++)
        {
            request.Tools.Add(new Tool { Name = $"t{i}" });
        }

        Assert.Contains("tools", ViolatedFields(() => _validator.Validate(request)));
    }

    [Fact]
    public void ToolChoiceRequired_WithoutTools_Refused() =>
        Assert.Contains("tool_choice", ViolatedFields(() => _validator.Validate(new ExecuteRequest
        {
            TaskType = TaskType.Chat,
            Prompt = "x",
            ToolChoice = new ToolChoiceOptions { Mode = ToolChoiceMode.Required },
        })));

    /// <summary>The two-step tool conversation a coding agent sends: user, assistant tool call, tool result.</summary>
    private static ExecuteRequest ToolConversation()
    {
        var request = Chat();
        request.Messages.Add(new Message { Role = MessageRole.System, Text = "You are terse." });
        request.Messages.Add(new Message { Role = MessageRole.User, Text = "Create hello.txt", CacheBreakpoint = true });
        request.Messages.Add(new Message
        {
            Role = MessageRole.Assistant,
            ToolCalls = { new FunctionToolCall { Id = "call_1", Name = "write_file", ArgumentsJson = """{"path":"hello.txt"}""" } },
        });
        request.Messages.Add(new Message { Role = MessageRole.Tool, ToolCallId = "call_1", Text = "written" });
        request.Tools.Add(new Tool { Name = "write_file", ParametersJsonSchema = Schema });
        return request;
    }

    [Fact]
    public void Messages_EndingWithToolResults_MapToHistory()
    {
        var task = _validator.Validate(ToolConversation());

        Assert.True(task.EndsWithToolResults);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], task.History.Select(m => m.Role));
        Assert.True(task.History[0].CacheBreakpoint);
        Assert.Equal(new Core.Providers.ToolCall("call_1", "write_file", """{"path":"hello.txt"}"""), task.History[1].ToolCalls.Single());
        // The tool's name comes from the call it answers (Gemini needs it).
        Assert.Equal("write_file", task.History[2].ToolName);
        Assert.Equal("call_1", task.History[2].ToolCallId);
        Assert.Equal("Create hello.txt", task.Prompt);
        Assert.Equal("You are terse.", task.CustomInstructions);
        Assert.Equal(Persona.Custom, task.Persona);
    }

    [Fact]
    public void Messages_EndingWithUser_LastTurnIsThePrompt()
    {
        var request = Chat();
        request.Messages.Add(new Message { Role = MessageRole.User, Text = "first" });
        request.Messages.Add(new Message { Role = MessageRole.Assistant, Text = "answer" });
        request.Messages.Add(new Message
        {
            Role = MessageRole.User,
            Text = "second",
            Images = { new Image { Data = ByteString.CopyFrom(1, 2, 3), MediaType = "image/png" } },
        });

        var task = _validator.Validate(request);

        Assert.False(task.EndsWithToolResults);
        Assert.Equal("second", task.Prompt);
        Assert.Equal(["first", "answer"], task.History.Select(m => m.Content));
        Assert.Equal(Convert.ToBase64String([1, 2, 3]), task.PromptImages.Single().Base64Data);
        Assert.True(task.RequiredFeatures.HasFlag(RequestFeatures.Images));
    }

    [Fact]
    public void Messages_Inconsistent_EachReported()
    {
        var request = Chat();
        request.Prompt = "also a prompt";
        request.SessionId = "s1";
        request.Messages.Add(new Message { Role = MessageRole.User, Text = "hi", ToolCallId = "x" });
        request.Messages.Add(new Message { Role = MessageRole.Assistant, ToolCalls = { new FunctionToolCall { Id = "c", Name = "f", ArgumentsJson = "not json" } } });
        request.Messages.Add(new Message { Role = MessageRole.Tool, ToolCallId = "unknown", Text = "r" });
        request.Messages.Add(new Message { Role = MessageRole.Unspecified, Text = "?" });
        request.Messages.Add(new Message { Role = MessageRole.Assistant, Text = "last" });

        var fields = ViolatedFields(() => _validator.Validate(request));

        Assert.Equal(
            new[] { "prompt", "session_id", "messages[0]", "messages[1].tool_calls[0].arguments_json", "messages[2].tool_call_id", "messages[3].role", "messages" }.Order(),
            fields.Order());
    }

    [Fact]
    public void Images_BadOnes_Refused()
    {
        var request = Chat();
        request.Prompt = "describe";
        request.Images.Add(new Image { Url = "file:///etc/passwd" });
        request.Images.Add(new Image { Data = ByteString.CopyFrom(new byte[ConversationValidator.MaxImageBytes + 1]), MediaType = "image/png" });
        request.Images.Add(new Image { Data = ByteString.CopyFrom(1), MediaType = "text/plain" });
        request.Images.Add(new Image { MediaType = "image/png" });

        var fields = ViolatedFields(() => _validator.Validate(request));

        Assert.Equal(new[] { "images[0].url", "images[1].data", "images[2].media_type", "images[3]" }.Order(), fields.Order());
    }

    [Fact]
    public void Images_UrlAndData_Mapped()
    {
        var request = Chat();
        request.Prompt = "describe";
        request.Images.Add(new Image { Url = "https://example.com/a.png", Detail = "low" });
        request.Images.Add(new Image { Data = ByteString.CopyFrom(9, 9), MediaType = "IMAGE/JPEG" });

        var task = _validator.Validate(request);

        Assert.Equal("https://example.com/a.png", task.PromptImages[0].Url);
        Assert.Equal("low", task.PromptImages[0].Detail);
        Assert.Equal("image/jpeg", task.PromptImages[1].MediaType);
    }

    [Fact]
    public void Sampling_Mapped()
    {
        var request = Chat();
        request.Prompt = "json please";
        request.Stop.Add("END");
        request.Seed = 42;
        request.TopP = 0.9;
        request.PresencePenalty = 0.5;
        request.FrequencyPenalty = -0.5;
        request.User = "u-1";
        request.ResponseFormat = new ResponseFormatOptions { Type = ResponseFormatType.JsonSchema, JsonSchema = Schema, Strict = true };

        var sampling = _validator.Validate(request).Sampling;

        Assert.Equal(["END"], sampling.Stop);
        Assert.Equal(42, sampling.Seed);
        Assert.Equal(0.9, sampling.TopP);
        Assert.Equal(0.5, sampling.PresencePenalty);
        Assert.Equal(-0.5, sampling.FrequencyPenalty);
        Assert.Equal("u-1", sampling.User);
        Assert.Equal(new Core.Providers.ResponseFormat(ResponseFormatKind.JsonSchema, "response", Schema, true), sampling.ResponseFormat);
    }

    [Fact]
    public void Sampling_NoneGiven_IsNone() =>
        Assert.Same(SamplingOptions.None, _validator.Validate(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "x" }).Sampling);

    [Fact]
    public void Sampling_OutOfRange_EachReported()
    {
        var request = Chat();
        request.Prompt = "x";
        request.Stop.AddRange(["a", "b", "c", "d", ""]);
        request.TopP = 0;
        request.PresencePenalty = 3;
        request.FrequencyPenalty = double.NaN;
        request.User = new string('u', 257);
        request.ResponseFormat = new ResponseFormatOptions { Type = ResponseFormatType.JsonSchema, JsonSchema = "\"str\"" };

        var fields = ViolatedFields(() => _validator.Validate(request));

        Assert.Equal(
            new[] { "stop", "stop[4]", "top_p", "presence_penalty", "frequency_penalty", "user", "response_format.json_schema" }.Order(),
            fields.Order());
    }

    [Fact]
    public void ModelAndFallbacks_ReturnedForPinning()
    {
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "x", Model = " gpt-4.1 ", Fallbacks = { "claude-sonnet-5-5" } };
        var (_, model, fallbacks) = _validator.ValidateCall(request);
        Assert.Equal("gpt-4.1", model);
        Assert.Equal(["claude-sonnet-5-5"], fallbacks);
    }

    [Fact]
    public void Fallbacks_EmptyOrTooMany_Refused()
    {
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "x" };
        request.Fallbacks.AddRange(Enumerable.Range(0, ConversationValidator.MaxFallbacks).Select(i => "gpt-4.1"));
        request.Fallbacks.Add(" ");
        Assert.Equal(new[] { "fallbacks", $"fallbacks[{ConversationValidator.MaxFallbacks}]" }.Order(), ViolatedFields(() => _validator.ValidateCall(request)).Order());
    }

    /// <summary>Every name of the OpenAI/Anthropic tool-name pattern is accepted; every other is refused with its field.</summary>
    [Property(MaxTest = 300)]
    public void ToolName_AcceptedExactlyWhenItMatchesThePattern(NonNull<string> name)
    {
        var valid = name.Get.Length is >= 1 and <= 64 && name.Get.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "x", Tools = { new Tool { Name = name.Get } } };
        if (valid)
        {
            Assert.Equal(name.Get, _validator.Validate(request).Tools.Single().Name);
        }
        else
        {
            Assert.Equal(["tools[0].name"], ViolatedFields(() => _validator.Validate(request)));
        }
    }

    /// <summary>Arbitrary conversations: a task or INVALID_ARGUMENT, never another exception.</summary>
    [Property(MaxTest = 300)]
    public void Messages_Arbitrary_TaskOrInvalidArgument(int[] roles, string?[] texts, string?[] ids)
    {
        var request = Chat();
        for (var i = 0; i < roles.Length; i++)
        {
            var text = texts.Length > 0 ? texts[i % texts.Length] ?? "" : "";
            var id = ids.Length > 0 ? ids[i % ids.Length] ?? "" : "";
            var message = new Message { Role = (MessageRole)(Math.Abs(roles[i] % 6)), Text = text };
            if (message.Role == MessageRole.Assistant && id.Length > 0)
            {
                message.ToolCalls.Add(new FunctionToolCall { Id = id, Name = "f", ArgumentsJson = text });
            }
            else if (message.Role == MessageRole.Tool)
            {
                message.ToolCallId = id;
            }

            request.Messages.Add(message);
        }

        try
        {
            _validator.Validate(request);
        }
        catch (RpcException ex)
        {
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        }
    }
}
