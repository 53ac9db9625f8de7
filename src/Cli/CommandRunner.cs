using System.CommandLine;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Connection;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;

namespace MonkeyCoder.Cli;

/// <summary>
/// Runs a command's body with the resolved settings and one connection, inside an operation Ctrl-C
/// cancels, and turns any failure into one line on stderr (plus an `error` event with --json) and
/// a documented exit code.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Sets the action; <c>interruptible: false</c> for commands that manage Ctrl-C themselves (chat: per answer).</summary>
    public static void SetAction(Command command, string action, Func<ParseResult, ServiceConnection, CancellationToken, Task<int>> body, bool interruptible = true) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, action, body, interruptible, cancellationToken));

    private static async Task<int> RunAsync(ParseResult parse, string action, Func<ParseResult, ServiceConnection, CancellationToken, Task<int>> body, bool interruptible, CancellationToken cancellationToken)
    {
        CliSettings? settings = null;
        using var operation = interruptible ? Interrupts.Begin(cancellationToken) : null;
        try
        {
            settings = CliSettings.From(parse);
            using var connection = new ServiceConnection(settings);
            return await body(parse, connection, operation?.Token ?? cancellationToken);
        }
        catch (Exception ex)
        {
            return Fail(ex, action, settings, parse);
        }
    }

    public static int Fail(Exception ex, string action, CliSettings? settings, ParseResult parse)
    {
        var verbose = settings?.Verbose ?? parse.GetValue(CliSettings.VerboseOption);
        var json = settings?.Json ?? parse.GetValue(CliSettings.JsonOption);
        var baseUrl = settings?.BaseUrl ?? CliSettings.DefaultBaseUrl;
        if (ex is OperationCanceledException || ex is Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // The line after a partly streamed answer starts clean.
            Console.Out.WriteLine();
        }

        var report = ErrorReporter.Describe(ex, action, baseUrl);
        if (json)
        {
            JsonLines.Write(w =>
            {
                w.WriteString("type", "error");
                w.WriteNumber("exit_code", report.ExitCode);
                w.WriteString("reason", report.Reason);
                w.WriteString("message", report.Line);
            });
        }

        return ErrorReporter.Write(ex, action, baseUrl, verbose);
    }
}
