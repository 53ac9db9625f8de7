using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// The system prompt each persona runs with. Here rather than in Execution because routing must
/// count it: the input a model has to hold is the system prompt, the history and the prompt.
/// </summary>
internal static class PersonaPrompts
{
    public static string SystemPrompt(Persona persona, string customInstructions)
    {
        var role = persona switch
        {
            Persona.Architect => "You are a software architect. Propose a clear design with components, data flow and trade-offs.",
            Persona.Reviewer => "You are a meticulous code reviewer. Point out defects, risks and concrete improvements.",
            Persona.SecurityAnalyst => "You are a security analyst. Find vulnerabilities and explain how to fix them.",
            Persona.PerformanceExpert => "You are a performance engineer. Find bottlenecks and propose measured improvements.",
            Persona.Tester => "You are a test engineer. Write thorough, readable tests covering edge cases.",
            Persona.TechnicalWriter => "You are a technical writer. Write clear, accurate documentation with examples.",
            Persona.Custom => "You are a helpful assistant.",
            _ => "You are a senior software developer. Write correct, idiomatic, well-structured code.",
        };
        return string.IsNullOrWhiteSpace(customInstructions) ? role : role + "\n\n" + customInstructions;
    }
}
