using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Api;

public sealed class TaskRequestValidatorTests
{
    private readonly TaskRequestValidator _validator = new(TestCatalog.Shipped());

    private static IReadOnlyList<string> ViolatedFields(Action act)
    {
        var ex = Assert.Throws<RpcException>(act);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        return ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();
    }

    [Fact]
    public void Validate_ValidRequest_NormalizesDefaults()
    {
        var task = _validator.Validate(new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "do it" });
        Assert.Equal(4096, task.MaxTokens);
        Assert.Equal(0.1, task.Temperature);
        Assert.False(task.TemperatureSet);
    }

    [Fact]
    public void Validate_LeadingSlashCommands_SplitFromPrompt()
    {
        var task = _validator.Validate(new ExecuteRequest { TaskType = TaskType.Custom, Prompt = "/arch /SEC design a login flow" });
        Assert.Equal("design a login flow", task.Prompt);
        Assert.Equal(["/arch", "/sec"], task.SlashCommands);
    }

    [Fact]
    public void Validate_PathAtPromptStart_IsNotACommand()
    {
        var task = _validator.Validate(new ExecuteRequest { TaskType = TaskType.Debugging, Prompt = "/etc/hosts is ignored, why?" });
        Assert.Equal("/etc/hosts is ignored, why?", task.Prompt);
        Assert.Empty(task.SlashCommands);
    }

    [Fact]
    public void Validate_EveryBadField_ReportedTogether()
    {
        var request = new ExecuteRequest
        {
            Prompt = "",
            MaxTokens = 0,
            Temperature = 2.5,
            PreferredProviders = { "nope" },
            SlashCommands = { "/bogus" },
            Files = { new SourceFile { Path = "", Content = "x" } },
            StrategyOptions = new StrategyOptions { ParallelVariants = 11 },
        };
        var fields = ViolatedFields(() => _validator.Validate(request));
        Assert.Equal(
            new[] { "task_type", "slash_commands", "prompt", "files[0].path", "max_tokens", "temperature", "preferred_providers[0]", "strategy_options.parallel_variants" }.Order(),
            fields.Order());
    }

    [Fact]
    public void Validate_ModelPreferenceUnknownModel_Violation()
    {
        var fields = ViolatedFields(() => _validator.Validate(new ExecuteRequest
        {
            TaskType = TaskType.Chat,
            Prompt = "hi",
            ModelPreferences = { ["simulated"] = "gpt-0" },
        }));
        Assert.Equal(["model_preferences[simulated]"], fields);
    }

    [Fact]
    public void Validate_ObjectiveAndBudget_MappedOrRejected()
    {
        var validator = new MonkeyCoder.Core.Api.TaskRequestValidator(TestCatalog.Shipped());
        var task = validator.Validate(new MonkeyCoder.V1.ExecuteRequest
        {
            TaskType = MonkeyCoder.V1.TaskType.Chat,
            Prompt = "hi",
            Objective = MonkeyCoder.V1.RoutingObjective.Latency,
            MaxCostUsd = 0.5,
        });
        Assert.Equal(MonkeyCoder.V1.RoutingObjective.Latency, task.Objective);
        Assert.Equal(0.5, task.MaxCostUsd);
        Assert.Null(validator.Validate(new MonkeyCoder.V1.ExecuteRequest { TaskType = MonkeyCoder.V1.TaskType.Chat, Prompt = "hi" }).MaxCostUsd);

        var ex = Assert.Throws<Grpc.Core.RpcException>(() => validator.Validate(new MonkeyCoder.V1.ExecuteRequest
        {
            TaskType = MonkeyCoder.V1.TaskType.Chat,
            Prompt = "hi",
            Objective = (MonkeyCoder.V1.RoutingObjective)42,
            MaxCostUsd = -1,
        }));
        var fields = ex.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations.Select(v => v.Field).ToList();
        Assert.Contains("objective", fields);
        Assert.Contains("max_cost_usd", fields);
    }
}
