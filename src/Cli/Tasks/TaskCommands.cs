using System.CommandLine;
using System.Text;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;

namespace MonkeyCoder.Cli.Tasks;

/// <summary>implement, analyze, build, test, review, docs, debug, refactor.</summary>
internal static class TaskCommands
{
    public static IEnumerable<Command> Create() => TaskKinds.All.Select(Create);

    private static Command Create(TaskKind kind)
    {
        var options = new TaskOptions();
        var noStream = new Option<bool>("--no-stream") { Description = "Wait for the whole answer (unary Execute) instead of streaming it" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Also write the answer to FILE" };
        var extractCode = new Option<bool>("--extract-code") { Description = "With -o: write only the fenced code blocks of the answer" };
        var command = new Command(kind.Name, kind.Description);
        options.AddTo(command);
        command.Options.Add(noStream);
        command.Options.Add(output);
        command.Options.Add(extractCode);
        command.Validators.Add(r =>
        {
            if (r.GetValue(extractCode) && r.GetValue(output) is null)
            {
                r.AddError("--extract-code needs -o FILE.");
            }
        });

        CommandRunner.SetAction(command, kind.Name, async (parse, connection, cancellationToken) =>
        {
            var prompt = options.ReadPrompt(parse);
            var request = await options.BuildAsync(parse, kind, prompt, connection, cancellationToken);
            var result = await TaskRunner.RunAsync(connection, request, stream: !parse.GetValue(noStream), cancellationToken);
            if (parse.GetValue(output) is { } file)
            {
                await WriteOutputAsync(file, result.Content, parse.GetValue(extractCode), connection.Settings.Json, cancellationToken);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task WriteOutputAsync(FileInfo file, string answer, bool extractCode, bool json, CancellationToken cancellationToken)
    {
        var text = answer;
        if (extractCode)
        {
            text = CodeBlocks.Join(answer) ?? throw new CliException(
                ExitCodes.Failure,
                $"the answer has no fenced code block, so nothing was written to {file.Name}. Run without --extract-code to save the whole answer.");
        }

        file.Directory?.Create();
        var bytes = Encoding.UTF8.GetBytes(text);
        await File.WriteAllBytesAsync(file.FullName, bytes, cancellationToken);
        if (json)
        {
            JsonLines.Write(w =>
            {
                w.WriteString("type", "output");
                w.WriteString("path", file.FullName);
                w.WriteNumber("bytes", bytes.Length);
                w.WriteBoolean("code_only", extractCode);
            });
        }
        else
        {
            Console.Error.WriteLine($"wrote {bytes.Length} bytes{(extractCode ? " of code" : "")} to {file.FullName}");
        }
    }
}
