using System.CommandLine;
using MonkeyCoder.Cli.Account;
using MonkeyCoder.Cli.Catalog;
using MonkeyCoder.Cli.Chat;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Tasks;
using MonkeyCoder.Cli.Terminal;

var root = new RootCommand("monkey: AI coding tasks routed to the best model, over gRPC (Monkey Coder).")
{
    CliSettings.BaseUrlOption,
    CliSettings.ApiKeyOption,
    CliSettings.VerboseOption,
    CliSettings.JsonOption,
};
foreach (var command in TaskCommands.Create())
{
    root.Subcommands.Add(command);
}

root.Subcommands.Add(ChatCommand.Create());
root.Subcommands.Add(CatalogCommands.Route());
root.Subcommands.Add(CatalogCommands.Models());
root.Subcommands.Add(CatalogCommands.Providers());
root.Subcommands.Add(CatalogCommands.Health());
root.Subcommands.Add(AuthCommands.Create());
root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(UserCommands.Create());
root.Subcommands.Add(UsageCommand.Create());
root.Subcommands.Add(SessionCommands.Create());
root.Subcommands.Add(ConfigCommands.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine("error: " + error.Message);
    }

    Console.Error.WriteLine("Run `monkey --help` (or `monkey COMMAND --help`) for usage.");
    return ExitCodes.Usage;
}

Interrupts.Install();
// The CLI handles Ctrl-C itself (Interrupts): it cancels the running call, not the process.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
