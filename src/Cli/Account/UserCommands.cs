using System.CommandLine;
using System.Globalization;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Account;

/// <summary>users list|update over UserService (admins): role, disabled, limits and the monthly budget that holds across a user's keys.</summary>
internal static class UserCommands
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Create() => new("users", "List users and change their role, limits and budget (admins)") { List(), Update() };

    private static Command List()
    {
        var list = new Command("list", "List users with their role, state, limits and monthly budget");
        CommandRunner.SetAction(list, "users list", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Users.ListUsersAsync(new ListUsersRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                foreach (var user in response.Users)
                {
                    JsonLines.WriteMessage(user);
                }

                return ExitCodes.Ok;
            }

            var table = Tables.Create("id", "email", "role", "state", "req/min", "tokens/min", "budget USD/month");
            foreach (var user in response.Users)
            {
                Tables.AddRow(table, user.UserId, user.Email, user.Role, user.Disabled ? "disabled" : "active",
                    user.HasRequestsPerMinute ? user.RequestsPerMinute.ToString(Invariant) : "default",
                    user.HasTokensPerMinute ? user.TokensPerMinute.ToString(Invariant) : "default",
                    user.HasMonthlyBudgetUsd ? user.MonthlyBudgetUsd.ToString("0.##", Invariant) : "default");
            }

            Tables.Out.Write(table);
            Console.Error.WriteLine($"{response.Users.Count} user(s).");
            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command Update()
    {
        var id = new Argument<string>("id") { Description = "User id (usr_…) as `users list` shows it" };
        var role = new Option<string?>("--role") { Description = "admin, developer or viewer" };
        var disable = new Option<bool>("--disable") { Description = "Disable the user: its keys stop working, it gets no new session" };
        var enable = new Option<bool>("--enable") { Description = "Re-enable a disabled user" };
        var rpm = new Option<int?>("--requests-per-minute") { Description = "Request rate limit (0: back to the service default)" };
        var tpm = new Option<int?>("--tokens-per-minute") { Description = "Token rate limit (0: back to the service default)" };
        var budget = new Option<double?>("--monthly-budget") { Description = "Spending cap in USD per calendar month, across all the user's keys" };
        var clearBudget = new Option<bool>("--clear-monthly-budget") { Description = "Back to the service's default budget" };
        var update = new Command("update", "Change a user's role, state, limits or monthly budget; only the options given change")
        {
            id, role, disable, enable, rpm, tpm, budget, clearBudget,
        };
        CommandRunner.SetAction(update, "users update", async (parse, connection, cancellationToken) =>
        {
            if (parse.GetValue(disable) && parse.GetValue(enable))
            {
                throw new CliException(ExitCodes.Usage, "--disable and --enable exclude each other.");
            }

            var request = new UpdateUserRequest { UserId = parse.GetValue(id)!.Trim(), ClearMonthlyBudget = parse.GetValue(clearBudget) };
            if (parse.GetValue(role) is { } r)
            {
                request.Role = r;
            }

            if (parse.GetValue(disable) || parse.GetValue(enable))
            {
                request.Disabled = parse.GetValue(disable);
            }

            if (parse.GetValue(rpm) is { } requests)
            {
                request.RequestsPerMinute = requests;
            }

            if (parse.GetValue(tpm) is { } tokens)
            {
                request.TokensPerMinute = tokens;
            }

            if (parse.GetValue(budget) is { } b)
            {
                request.MonthlyBudgetUsd = b;
            }

            var response = await connection.Users.UpdateUserAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                JsonLines.WriteMessage(response.User);
                return ExitCodes.Ok;
            }

            var user = response.User;
            Console.Error.WriteLine($"updated user {user.UserId} ({user.Email}): role {user.Role}, {(user.Disabled ? "disabled" : "active")}, "
                + $"budget {(user.HasMonthlyBudgetUsd ? user.MonthlyBudgetUsd.ToString("0.##", Invariant) + " USD/month" : "default")}.");
            return ExitCodes.Ok;
        });
        return update;
    }
}
