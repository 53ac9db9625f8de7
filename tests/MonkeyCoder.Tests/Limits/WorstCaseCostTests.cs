using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Tests.Execution;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Limits;

/// <summary>The budget hold's worst case: the input with the longest persona system prompt, at each candidate's prices.</summary>
public sealed class WorstCaseCostTests
{
    private static readonly ExecutionOptions Options = new() { MaxRetriesPerCandidate = 0, MaxAttemptsPerExecution = 8 };

    /// <summary>The hold counted the long way: every persona's system prompt counted for this call.</summary>
    private static long Expected(RoutePlan plan)
    {
        var tokens = TestCatalog.Tokens;
        var custom = plan.Task.CustomInstructions;
        long prompt = tokens.Count(PromptBuilder.Build(plan.Task, Persona.Custom)) - tokens.Count(PersonaPrompts.SystemPrompt(Persona.Custom, custom))
            + Enum.GetValues<Persona>().Max(p => tokens.Count(PersonaPrompts.SystemPrompt(p, custom)));
        var model = plan.Candidates[0].Model;
        var cost = ((prompt * model.InputPricePerMillion) + (plan.Task.MaxTokens * model.OutputPricePerMillion)) / 1_000_000d;
        return (long)Math.Ceiling(cost * 1_000_000d) + 1;
    }

    private static RoutePlan Plan(string customInstructions)
    {
        var plan = Harness.Plan(TestCatalog.Model("m1", "a", price: 3));
        return plan with { Task = new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz", CustomInstructions = customInstructions, MaxTokens = 500 } };
    }

    [Fact]
    public void Micros_PlainCallsThenCustomInstructionsThenPlainAgain_EachTheLongWayCount()
    {
        var worst = new WorstCaseCost(Microsoft.Extensions.Options.Options.Create(Options), TestCatalog.Tokens);
        var plain = Plan("");
        var custom = Plan(string.Concat(Enumerable.Repeat("Answer in the style of a long legal contract, citing clauses. ", 40)));

        Assert.Equal(Expected(plain), worst.Micros(plain));
        Assert.Equal(Expected(plain), worst.Micros(plain));
        // Custom instructions lengthen every system prompt: never the plain calls' stored count.
        Assert.Equal(Expected(custom), worst.Micros(custom));
        Assert.True(worst.Micros(custom) > worst.Micros(plain) + 3 * 400);
        Assert.Equal(Expected(plain), worst.Micros(plain));
    }

    [Fact]
    public void Micros_ManyDistinctInstructions_CacheStartsOverAtItsBoundAndCountsStayExact()
    {
        var worst = new WorstCaseCost(Microsoft.Extensions.Options.Options.Create(Options), TestCatalog.Tokens) { CacheMaxChars = 2_000 };
        for (var i = 0; i < 30; i++)
        {
            var plan = Plan($"Instruction set {i}: " + new string('x', 150 + i));
            Assert.Equal(Expected(plan), worst.Micros(plan));
            Assert.InRange(worst.CachedInstructions, 1, 12);
        }

        // Seen again after the cache started over: counted again, still exact.
        var first = Plan("Instruction set 0: " + new string('x', 150));
        Assert.Equal(Expected(first), worst.Micros(first));
    }
}
