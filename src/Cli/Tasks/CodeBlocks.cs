using System.Text;

namespace MonkeyCoder.Cli.Tasks;

/// <summary>Extracts fenced code blocks (``` or ~~~, optional language tag) from a Markdown answer.</summary>
internal static class CodeBlocks
{
    public sealed record Block(string Language, string Code);

    public static IReadOnlyList<Block> Extract(string markdown)
    {
        var blocks = new List<Block>();
        string? fence = null;
        var language = "";
        var code = new StringBuilder();
        foreach (var rawLine in markdown.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var trimmed = line.TrimStart();
            if (fence is null)
            {
                if (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
                {
                    var marker = trimmed[0];
                    var length = trimmed.TakeWhile(c => c == marker).Count();
                    fence = new string(marker, length);
                    language = trimmed[length..].Trim();
                    code.Clear();
                }
            }
            else if (trimmed.StartsWith(fence, StringComparison.Ordinal) && trimmed.Trim(fence[0]).Trim().Length == 0)
            {
                blocks.Add(new Block(language, code.ToString()));
                fence = null;
            }
            else
            {
                code.Append(line).Append('\n');
            }
        }

        return blocks;
    }

    /// <summary>All blocks joined by a blank line; null when the answer has none.</summary>
    public static string? Join(string markdown)
    {
        var blocks = Extract(markdown);
        return blocks.Count == 0 ? null : string.Join("\n", blocks.Select(b => b.Code));
    }
}
