using System.CommandLine;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Account;

/// <summary>sessions list|show|export|delete over SessionService (the history `monkey chat` keeps on the service).</summary>
internal static class SessionCommands
{
    public static Command Create() => new("sessions", "Chat sessions kept by the service") { List(), Show(), Export(), Delete() };

    private static Command List()
    {
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many, newest first (1 to 200)", DefaultValueFactory = _ => 50 };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 200)
            {
                r.AddError("--limit must be 1 to 200.");
            }
        });
        var list = new Command("list", "List your chat sessions, newest first") { limit };
        CommandRunner.SetAction(list, "sessions list", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Sessions.ListSessionsAsync(new ListSessionsRequest { PageSize = parse.GetValue(limit) },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                foreach (var session in response.Sessions)
                {
                    JsonLines.WriteMessage(session);
                }

                return ExitCodes.Ok;
            }

            var table = Tables.Create("session", "turns", "updated", "title");
            foreach (var s in response.Sessions)
            {
                Tables.AddRow(table, s.SessionId, s.TurnCount.ToString(System.Globalization.CultureInfo.InvariantCulture), KeyCommands.Time(s.UpdateTime), s.Title);
            }

            Tables.Out.Write(table);
            Console.Error.WriteLine($"{response.Sessions.Count} session(s). Continue one with `monkey chat --session ID`.");
            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command Show()
    {
        var id = new Argument<string>("id") { Description = "Session id (from `monkey sessions list`)" };
        var show = new Command("show", "Show a session's turns") { id };
        CommandRunner.SetAction(show, "sessions show", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Sessions.GetSessionAsync(new GetSessionRequest { SessionId = parse.GetValue(id)!.Trim() },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                JsonLines.WriteMessage(response);
                return ExitCodes.Ok;
            }

            Console.Out.WriteLine($"session {response.Summary.SessionId} · {response.Summary.TurnCount} turns · updated {KeyCommands.Time(response.Summary.UpdateTime)}");
            foreach (var turn in response.Turns)
            {
                var who = turn.Role == TurnRole.User ? "you" : "assistant" + (turn.Model.Length > 0 ? " (" + turn.Model + ")" : "");
                Console.Out.WriteLine();
                Console.Out.WriteLine($"── {who} · {KeyCommands.Time(turn.CreateTime)}");
                Console.Out.WriteLine(turn.Content);
            }

            return ExitCodes.Ok;
        });
        return show;
    }

    private static Command Export()
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var format = new Option<string>("--format") { Description = "markdown or json", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("markdown", "json");
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file instead of stdout" };
        var export = new Command("export", "Export a session as Markdown or JSON") { id, format, output };
        CommandRunner.SetAction(export, "sessions export", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Sessions.ExportSessionAsync(
                new ExportSessionRequest { SessionId = parse.GetValue(id)!.Trim(), Format = parse.GetValue(format) == "json" ? ExportFormat.Json : ExportFormat.Markdown },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, response.Content, cancellationToken);
                Console.Error.WriteLine($"wrote {file.FullName} ({response.ContentType}).");
            }
            else
            {
                Console.Out.Write(response.Content);
                if (!response.Content.EndsWith('\n'))
                {
                    Console.Out.WriteLine();
                }
            }

            return ExitCodes.Ok;
        });
        return export;
    }

    private static Command Delete()
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var delete = new Command("delete", "Delete a session and its history from the service") { id };
        CommandRunner.SetAction(delete, "sessions delete", async (parse, connection, cancellationToken) =>
        {
            var sessionId = parse.GetValue(id)!.Trim();
            var response = await connection.Sessions.DeleteSessionAsync(new DeleteSessionRequest { SessionId = sessionId },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (!response.Deleted)
            {
                throw new CliException(ExitCodes.InvalidInput, $"no session '{sessionId}' to delete (it may have expired). List them with `monkey sessions list`.");
            }

            if (connection.Settings.Json)
            {
                JsonLines.Write(w =>
                {
                    w.WriteString("session_id", sessionId);
                    w.WriteBoolean("deleted", true);
                });
            }
            else
            {
                Console.Error.WriteLine($"deleted session {sessionId}.");
            }

            return ExitCodes.Ok;
        });
        return delete;
    }
}
