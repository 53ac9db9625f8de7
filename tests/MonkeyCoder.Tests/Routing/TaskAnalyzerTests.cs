using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Routing;

public sealed class TaskAnalyzerTests
{
    private readonly TaskAnalyzer _analyzer = new(TestCatalog.Tokens);

    [Fact]
    public void Complexity_ShortPlainPrompt_Trivial()
    {
        Assert.Equal(0, TaskAnalyzer.Complexity("hello", 0));
        Assert.Equal(ComplexityLevel.Trivial, TaskAnalyzer.LevelOf(0));
    }

    [Fact]
    public void Complexity_FollowsOriginalWeights()
    {
        // code word (+0.18), 11 words (+0.05), 2 domain words (+0.122), 2 step words (+0.22), 2 files (+0.09)
        var prompt = "first write a function for the database cache and then return it now ok";
        Assert.Equal(0.18 + 0.05 + 0.122 + 0.22 + 0.09, TaskAnalyzer.Complexity(prompt, 2), 3);
    }

    [Fact]
    public void Complexity_DomainKeywords_CappedAtThirtyPercent()
    {
        var prompt = "algorithm architecture authentication authorization cache concurrency database distributed encryption";
        Assert.Equal(0.30, TaskAnalyzer.Complexity(prompt, 0), 3);
    }

    [Theory]
    [InlineData(0.85, ComplexityLevel.Critical)]
    [InlineData(0.6, ComplexityLevel.Complex)]
    [InlineData(0.45, ComplexityLevel.Moderate)]
    [InlineData(0.2, ComplexityLevel.Simple)]
    [InlineData(0.19, ComplexityLevel.Trivial)]
    public void LevelOf_Thresholds(double complexity, ComplexityLevel expected) =>
        Assert.Equal(expected, TaskAnalyzer.LevelOf(complexity));

    [Fact]
    public void Analyze_SlashCommand_OverridesPersonaAndContext()
    {
        var profile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "build it", SlashCommands = ["/arch"], Persona = Persona.Tester });
        Assert.Equal(Persona.Architect, profile.Persona);
        Assert.Equal(ContextType.Architecture, profile.Context);
    }

    [Fact]
    public void Analyze_CustomTaskWithKeywords_PicksContextAndPersona()
    {
        var profile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = "why is this endpoint so slow? check latency and memory" });
        Assert.Equal(ContextType.Performance, profile.Context);
        Assert.Equal(Persona.PerformanceExpert, profile.Persona);
    }

    [Fact]
    public void Analyze_CountsPromptAndFileTokens()
    {
        var small = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.CodeReview, Prompt = "review" });
        var withFile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.CodeReview, Prompt = "review", Files = [new TaskFile("a.py", string.Concat(Enumerable.Repeat("x = 1\n", 200)), "python")] });
        Assert.True(withFile.EstimatedInputTokens > small.EstimatedInputTokens + 200);
    }

    [Theory]
    [InlineData("/dev", Persona.Developer, ContextType.CodeGeneration)]
    [InlineData("/develop", Persona.Developer, ContextType.CodeGeneration)]
    [InlineData("/arch", Persona.Architect, ContextType.Architecture)]
    [InlineData("/architect", Persona.Architect, ContextType.Architecture)]
    [InlineData("/review", Persona.Reviewer, ContextType.Review)]
    [InlineData("/sec", Persona.SecurityAnalyst, ContextType.Security)]
    [InlineData("/security", Persona.SecurityAnalyst, ContextType.Security)]
    [InlineData("/perf", Persona.PerformanceExpert, ContextType.Performance)]
    [InlineData("/performance", Persona.PerformanceExpert, ContextType.Performance)]
    [InlineData("/test", Persona.Tester, ContextType.Testing)]
    [InlineData("/testing", Persona.Tester, ContextType.Testing)]
    [InlineData("/docs", Persona.TechnicalWriter, ContextType.Documentation)]
    [InlineData("/documentation", Persona.TechnicalWriter, ContextType.Documentation)]
    public void Analyze_EverySlashCommand_SetsItsPersonaAndContext(string command, Persona persona, ContextType context)
    {
        var profile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = "please help with this", SlashCommands = [command] });
        Assert.Equal(persona, profile.Persona);
        Assert.Equal(context, profile.Context);
        Assert.Contains(command, TaskAnalyzer.KnownSlashCommands);
    }

    [Fact]
    public void Analyze_PersonaInRequest_UsedWhenNoSlashCommand()
    {
        var profile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = "what is wrong here", Persona = Persona.SecurityAnalyst });
        Assert.Equal(Persona.SecurityAnalyst, profile.Persona);
    }

    [Theory]
    [InlineData("implement a parser class for the config", ContextType.CodeGeneration, Persona.Developer)]
    [InlineData("please assess and critique this module", ContextType.Review, Persona.Reviewer)]
    [InlineData("fix the crash, here is the traceback", ContextType.Debugging, Persona.Developer)]
    [InlineData("sketch the architecture and component structure", ContextType.Architecture, Persona.Architect)]
    [InlineData("audit the login for xss and csrf", ContextType.Security, Persona.SecurityAnalyst)]
    [InlineData("the endpoint is slow: cut latency, find the bottleneck", ContextType.Performance, Persona.PerformanceExpert)]
    [InlineData("explain what the readme should describe", ContextType.Documentation, Persona.TechnicalWriter)]
    [InlineData("raise coverage with pytest and verify edge cases", ContextType.Testing, Persona.Tester)]
    [InlineData("hello there", ContextType.General, Persona.Developer)]
    public void Analyze_CustomTask_ContextFromWeightedKeywords(string prompt, ContextType context, Persona persona)
    {
        var profile = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = prompt });
        Assert.Equal(context, profile.Context);
        Assert.Equal(persona, profile.Persona);
    }

    [Fact]
    public void Analyze_PrimaryKeywordOutweighsSecondaryOnes()
    {
        // "design" (architecture, primary: 2) ties "fast" + "memory" (performance, secondary: 1 + 1); a tie keeps the
        // earlier context, and one more secondary performance word tips it.
        var tie = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = "design it fast with little memory" });
        var more = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.Custom, Prompt = "design it fast with little memory, no bottleneck" });
        Assert.Equal(ContextType.Architecture, tie.Context);
        Assert.Equal(ContextType.Performance, more.Context);
    }

    [Fact]
    public void Analyze_InputEstimate_CountsThePersonaSystemPromptAndCustomInstructions()
    {
        var instructions = string.Concat(Enumerable.Repeat("Always answer with type hints and docstrings. ", 40));
        var plain = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "x" });
        var instructed = _analyzer.Analyze(new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "x", CustomInstructions = instructions });

        Assert.True(plain.EstimatedInputTokens > TestCatalog.Tokens.Count("x") + 10, "the system prompt is part of the input");
        Assert.True(instructed.EstimatedInputTokens - plain.EstimatedInputTokens >= TestCatalog.Tokens.Count(instructions));
    }
}
