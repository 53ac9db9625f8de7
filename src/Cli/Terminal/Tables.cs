using Spectre.Console;

namespace MonkeyCoder.Cli.Terminal;

/// <summary>Spectre.Console tables; plain (no colour, wide) when stdout is not a terminal.</summary>
internal static class Tables
{
    private static readonly Lazy<IAnsiConsole> Console = new(() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = System.Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
        ColorSystem = System.Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        Out = new AnsiConsoleOutput(System.Console.Out),
    }));

    public static IAnsiConsole Out
    {
        get
        {
            var console = Console.Value;
            if (System.Console.IsOutputRedirected)
            {
                // Pipes have no width; do not wrap rows at 80 columns.
                console.Profile.Width = 240;
            }

            return console;
        }
    }

    public static Table Create(params string[] columns)
    {
        var table = new Table().Border(System.Console.IsOutputRedirected ? TableBorder.Ascii : TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)));
        }

        return table;
    }

    public static void AddRow(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)).ToArray());
}
