using System.CommandLine;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;

namespace MonkeyCoder.Cli.Account;

/// <summary>
/// auth, keys, usage, sessions. The parts that live on this machine (the credentials file) work
/// now; the parts that need server RPCs which are not in the contract yet (device authorization,
/// API-key management, usage reports, session history) exit with <see cref="ExitCodes.NotAvailable"/>
/// and say so, rather than printing anything made up.
/// </summary>
internal static class AccountCommands
{
    private const string AuthRpcs = "the authentication RPCs (device authorization, token issue and revoke)";
    private const string KeyRpcs = "the API-key management RPCs";
    private const string UsageRpcs = "the usage-report RPC";
    private const string SessionRpcs = "the session RPCs (list, get, export, delete)";

    public static Command Auth()
    {
        var withKey = new Option<bool>("--with-key") { Description = "Read an API key from stdin and store it (keeps it out of shell history)" };
        var login = new Command("login", "Log in: device flow (prints a code and URL, then polls), or store a key with --api-key / --with-key") { withKey };
        CommandRunner.SetAction(login, "auth login", (parse, connection, _) =>
        {
            var key = parse.GetValue(withKey) ? Console.In.ReadLine()?.Trim() : parse.GetValue(CliSettings.ApiKeyOption)?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                if (parse.GetValue(withKey))
                {
                    throw new CliException(ExitCodes.InvalidInput, "no key on stdin: pipe the API key, e.g. `monkey auth login --with-key < key.txt`.");
                }

                throw CliException.NotAvailable("auth login", AuthRpcs + "; store an existing key with `monkey auth login --api-key KEY` meanwhile");
            }

            Credentials.Save(new StoredCredentials { ApiKey = key, BaseUrl = connection.Settings.BaseUrl, SavedAt = DateTimeOffset.UtcNow });
            Console.Error.WriteLine($"stored the API key in {CliPaths.CredentialsFile} (readable only by you); it is sent as 'authorization: Bearer' on every call.");
            return Task.FromResult(ExitCodes.Ok);
        });

        var logout = new Command("logout", "Forget the stored credentials (deletes the credentials file)");
        CommandRunner.SetAction(logout, "auth logout", (_, _, _) =>
        {
            Console.Error.WriteLine(Credentials.Delete()
                ? $"removed {CliPaths.CredentialsFile}. (Revoking the token on the server needs {AuthRpcs}, not available yet.)"
                : "not logged in: there were no stored credentials.");
            return Task.FromResult(ExitCodes.Ok);
        });

        var status = new Command("status", "Show which credentials and service the CLI uses; exits 3 when it has none");
        CommandRunner.SetAction(status, "auth status", (_, connection, _) =>
        {
            var settings = connection.Settings;
            var stored = Credentials.Load();
            if (settings.Json)
            {
                JsonLines.Write(w =>
                {
                    w.WriteString("base_url", settings.BaseUrl);
                    w.WriteString("base_url_source", settings.BaseUrlSource);
                    w.WriteBoolean("has_credentials", settings.ApiKey is not null);
                    w.WriteString("credentials_source", settings.ApiKeySource);
                    w.WriteString("key_hint", Mask(settings.ApiKey));
                    w.WriteString("credentials_file", CliPaths.CredentialsFile);
                    w.WriteBoolean("server_verified", false);
                });
            }
            else
            {
                Console.Out.WriteLine($"service:     {settings.BaseUrl} (from {settings.BaseUrlSource})");
                Console.Out.WriteLine($"credentials: {(settings.ApiKey is null ? "none" : Mask(settings.ApiKey) + " (from " + settings.ApiKeySource + ")")}");
                Console.Out.WriteLine($"stored:      {(stored?.ApiKey is null ? "no" : CliPaths.CredentialsFile + (stored.SavedAt is { } at ? " (saved " + at.ToString("u", System.Globalization.CultureInfo.InvariantCulture) + ")" : ""))}");
                Console.Out.WriteLine($"server-side check of the key: not available yet (needs {AuthRpcs})");
            }

            if (settings.ApiKey is null)
            {
                Console.Error.WriteLine("error: not logged in: pass --api-key, set MONKEY_CODER_API_KEY, or run `monkey auth login`.");
                return Task.FromResult(ExitCodes.Auth);
            }

            return Task.FromResult(ExitCodes.Ok);
        });

        return new Command("auth", "Log in and out, and show the credentials in use") { login, logout, status };
    }

    public static Command Keys()
    {
        var name = new Argument<string>("name") { Description = "A label for the new key" };
        var scopes = new Option<string[]>("--scope") { Description = "Scope to grant (repeatable)", Arity = ArgumentArity.OneOrMore };
        var create = new Command("create", "Create an API key (shown once)") { name, scopes };
        NotAvailable(create, "keys create", KeyRpcs);
        var list = new Command("list", "List your API keys (prefix, scopes, last use)");
        NotAvailable(list, "keys list", KeyRpcs);
        var id = new Argument<string>("id") { Description = "Key id or prefix" };
        var revoke = new Command("revoke", "Revoke an API key") { id };
        NotAvailable(revoke, "keys revoke", KeyRpcs);
        return new Command("keys", "Manage API keys") { create, list, revoke };
    }

    public static Command Usage()
    {
        var by = new Option<string>("--by") { Description = "Group rows by day, provider or model", DefaultValueFactory = _ => "day" };
        by.AcceptOnlyFromAmong("day", "provider", "model");
        var days = new Option<int>("--days") { Description = "How many days back", DefaultValueFactory = _ => 30 };
        var command = new Command("usage", "Token usage and cost, by day, provider or model") { by, days };
        NotAvailable(command, "usage", UsageRpcs);
        return command;
    }

    public static Command Sessions()
    {
        var list = new Command("list", "List your chat sessions");
        NotAvailable(list, "sessions list", SessionRpcs);
        var showId = new Argument<string>("id") { Description = "Session id" };
        var show = new Command("show", "Show a session's turns") { showId };
        NotAvailable(show, "sessions show", SessionRpcs);
        var exportId = new Argument<string>("id") { Description = "Session id" };
        var format = new Option<string>("--format") { Description = "markdown or json", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("markdown", "json");
        var export = new Command("export", "Export a session") { exportId, format };
        NotAvailable(export, "sessions export", SessionRpcs);
        var deleteId = new Argument<string>("id") { Description = "Session id" };
        var delete = new Command("delete", "Delete a session") { deleteId };
        NotAvailable(delete, "sessions delete", SessionRpcs);
        return new Command("sessions", "Chat sessions kept by the service") { list, show, export, delete };
    }

    private static void NotAvailable(Command command, string name, string needs) =>
        CommandRunner.SetAction(command, name, (_, _, _) => throw CliException.NotAvailable(name, needs));

    private static string Mask(string? key) => key switch
    {
        null => "",
        { Length: <= 8 } => "****",
        _ => key[..4] + "…" + key[^4..],
    };
}
