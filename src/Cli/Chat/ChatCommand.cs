using System.CommandLine;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Tasks;
using MonkeyCoder.Cli.Terminal;

namespace MonkeyCoder.Cli.Chat;

/// <summary>
/// `monkey chat`: a REPL over one session. Every line is a streamed chat turn sent with the
/// session id (the service keeps the conversation). Ctrl-C during an answer cancels that answer
/// (the gRPC call is cancelled, so the upstream generation stops) and returns to the prompt;
/// Ctrl-C at the prompt, `exit`/`quit` or end of input leaves.
/// </summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var options = new TaskOptions();
        var continueLast = new Option<bool>("--continue", "-c") { Description = "Continue the last chat session" };
        var session = new Option<string?>("--session") { Description = "Continue (or start) the session with this id" };
        var command = new Command("chat", "Chat interactively in a session (streaming; Ctrl-C cancels an answer)");
        options.AddTo(command, withPrompt: false);
        command.Options.Add(continueLast);
        command.Options.Add(session);

        CommandRunner.SetAction(command, "chat", async (parse, connection, cancellationToken) =>
        {
            var sessionId = parse.GetValue(session);
            if (sessionId is null && parse.GetValue(continueLast))
            {
                sessionId = LastSession.Read() ?? throw new CliException(ExitCodes.InvalidInput, "there is no last chat session to continue: start one with `monkey chat`.");
            }

            sessionId ??= "cli-" + Guid.NewGuid().ToString("N")[..16];
            LastSession.Write(sessionId);
            var interactive = !Console.IsInputRedirected;
            var json = connection.Settings.Json;
            if (json)
            {
                JsonLines.Write(w =>
                {
                    w.WriteString("type", "session");
                    w.WriteString("session_id", sessionId);
                });
            }
            else
            {
                Console.Error.WriteLine($"chat session {sessionId}. Ctrl-C cancels an answer; Ctrl-C at the prompt, `exit` or Ctrl-D leaves.");
            }

            while (true)
            {
                if (interactive)
                {
                    Console.Out.Write("you> ");
                }

                var line = await Console.In.ReadLineAsync(cancellationToken);
                if (line is null)
                {
                    return ExitCodes.Ok;
                }

                line = line.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (line is "exit" or "quit" or "/exit" or "/quit")
                {
                    return ExitCodes.Ok;
                }

                using var turn = Interrupts.Begin(cancellationToken);
                try
                {
                    var request = await options.BuildAsync(parse, TaskKinds.Chat, line, connection, turn.Token);
                    request.SessionId = sessionId;
                    var result = await TaskRunner.RunAsync(connection, request, stream: true, turn.Token);
                    if (result.SessionId.Length > 0 && result.SessionId != sessionId)
                    {
                        sessionId = result.SessionId;
                        LastSession.Write(sessionId);
                    }
                }
                catch (Exception ex) when (turn.WasCancelled && !cancellationToken.IsCancellationRequested)
                {
                    _ = ex;
                    Console.Out.WriteLine();
                    if (json)
                    {
                        JsonLines.Write(w => w.WriteString("type", "cancelled"));
                    }
                    else
                    {
                        Console.Error.WriteLine("[answer cancelled]");
                    }
                }
                catch (CliException ex) when (ex.ExitCode == ExitCodes.Usage)
                {
                    throw;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed turn does not end the conversation; the error is shown and the prompt returns.
                    CommandRunner.Fail(ex, "chat", connection.Settings, parse);
                }
            }
        }, interruptible: false);
        return command;
    }
}

/// <summary>The last chat session id, for `chat --continue` (in the XDG state directory).</summary>
internal static class LastSession
{
    public static string? Read()
    {
        var path = CliPaths.LastSessionFile;
        return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } id ? id : null;
    }

    public static void Write(string sessionId)
    {
        Directory.CreateDirectory(CliPaths.StateDirectory);
        File.WriteAllText(CliPaths.LastSessionFile, sessionId + "\n");
    }
}
