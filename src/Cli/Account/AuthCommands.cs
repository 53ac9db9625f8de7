using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Connection;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Account;

/// <summary>
/// auth login (RFC 8628 device flow, or store an API key), logout (revokes the session on the
/// server), status (asks the server who the credential is), approve (a signed-in user approves a
/// device's code from a terminal).
/// </summary>
internal static class AuthCommands
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Create() => new("auth", "Log in and out, and show who the service thinks you are")
    {
        Login(),
        Logout(),
        Status(),
        Approve(),
    };

    private static Command Login()
    {
        var withKey = new Option<bool>("--with-key") { Description = "Read an API key from stdin and store it (keeps it out of shell history)" };
        var name = new Option<string?>("--client-name") { Description = "How this device is named on the approval page (default: monkey CLI on HOSTNAME)" };
        var login = new Command("login", "Log in with the device flow (prints a code and a URL, waits for approval), or store a key with --api-key / --with-key") { withKey, name };
        CommandRunner.SetAction(login, "auth login", async (parse, connection, cancellationToken) =>
        {
            var settings = connection.Settings;
            if (parse.GetValue(withKey) || settings.ApiKeySource == "flag")
            {
                var key = parse.GetValue(withKey) ? (await Console.In.ReadLineAsync(cancellationToken))?.Trim() : settings.ApiKey;
                if (string.IsNullOrEmpty(key))
                {
                    throw new CliException(ExitCodes.InvalidInput, "no key on stdin: pipe the API key, e.g. `monkey auth login --with-key < key.txt`.");
                }

                Credentials.Save(new StoredCredentials { ApiKey = key, BaseUrl = settings.BaseUrl, SavedAt = DateTimeOffset.UtcNow });
                Console.Error.WriteLine($"stored the API key for {settings.BaseUrl} in {CliPaths.CredentialsFile} (readable only by you). Check it with `monkey auth status`.");
                return ExitCodes.Ok;
            }

            // The device flow's RPCs are anonymous: send no credential (an old session might be unrenewable).
            using var anonymous = new ServiceConnection(settings with { ApiKey = null, Stored = null });
            return await DeviceFlowAsync(anonymous, parse.GetValue(name) ?? "monkey CLI on " + Environment.MachineName, cancellationToken);
        });
        return login;
    }

    private static async Task<int> DeviceFlowAsync(ServiceConnection connection, string clientName, CancellationToken cancellationToken)
    {
        var settings = connection.Settings;
        var start = await connection.Auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest { ClientName = clientName },
            deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        var expiresAt = DateTimeOffset.UtcNow + start.ExpiresIn.ToTimeSpan();
        if (settings.Json)
        {
            JsonLines.Write(w =>
            {
                w.WriteString("type", "device_code");
                w.WriteString("user_code", start.UserCode);
                w.WriteString("verification_uri", start.VerificationUri);
                w.WriteString("verification_uri_complete", start.VerificationUriComplete);
                w.WriteNumber("expires_in_seconds", (long)start.ExpiresIn.ToTimeSpan().TotalSeconds);
            });
        }
        else
        {
            Console.Error.WriteLine($"To log in to {settings.BaseUrl}, open {start.VerificationUriComplete}");
            Console.Error.WriteLine($"  or go to {start.VerificationUri} and enter the code:  {start.UserCode}");
            Console.Error.WriteLine($"  (a signed-in user can also run `monkey auth approve {start.UserCode}`).");
            Console.Error.WriteLine(string.Create(Invariant, $"Waiting for approval; the code expires in {start.ExpiresIn.ToTimeSpan().TotalMinutes:0} min. Ctrl-C cancels."));
        }

        var interval = start.Interval?.ToTimeSpan() is { TotalSeconds: > 0 } given ? given : TimeSpan.FromSeconds(5);
        while (true)
        {
            await Task.Delay(interval, cancellationToken);
            var poll = await connection.Auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = start.DeviceCode },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            switch (poll.State)
            {
                case DeviceAuthorizationState.AuthorizationPending:
                    if (DateTimeOffset.UtcNow > expiresAt)
                    {
                        throw Expired();
                    }

                    continue;
                case DeviceAuthorizationState.SlowDown:
                    // RFC 8628 §3.5: add 5 s, or take the server's new interval when it says one.
                    var slower = poll.Interval?.ToTimeSpan() ?? TimeSpan.Zero;
                    interval = slower > interval ? slower : interval + TimeSpan.FromSeconds(5);
                    continue;
                case DeviceAuthorizationState.ExpiredToken:
                    throw Expired();
                case DeviceAuthorizationState.AccessDenied:
                    throw new CliException(ExitCodes.Auth, "login denied: the code was rejected on the approval page. Run `monkey auth login` to try again.");
                case DeviceAuthorizationState.Approved:
                    var stored = BearerToken.Stored(poll.Tokens, poll.Principal?.Email, settings.BaseUrl);
                    Credentials.Save(stored);
                    if (settings.Json)
                    {
                        JsonLines.Write(w =>
                        {
                            w.WriteString("type", "logged_in");
                            w.WriteString("email", poll.Principal?.Email ?? "");
                            w.WriteString("role", poll.Principal?.Role ?? "");
                            w.WriteString("credentials_file", CliPaths.CredentialsFile);
                        });
                    }
                    else
                    {
                        Console.Error.WriteLine($"logged in to {settings.BaseUrl} as {poll.Principal?.Email} ({poll.Principal?.Role}); the session renews itself until you run `monkey auth logout`.");
                    }

                    return ExitCodes.Ok;
                default:
                    throw new CliException(ExitCodes.Failure, $"the service answered the device poll with an unknown state ({poll.State}). Upgrade the CLI.");
            }
        }
    }

    private static CliException Expired() =>
        new(ExitCodes.Auth, "the login code expired before it was approved. Run `monkey auth login` again and approve it within the time shown.");

    private static Command Logout()
    {
        var logout = new Command("logout", "Log out: revoke the session on the service and delete the stored credentials");
        CommandRunner.SetAction(logout, "auth logout", async (_, connection, cancellationToken) =>
        {
            var stored = Credentials.Load();
            if (stored is null)
            {
                Console.Error.WriteLine("not logged in: there were no stored credentials.");
                return ExitCodes.Ok;
            }

            // Forget locally first: whatever the service says, this machine no longer holds the secret.
            Credentials.Delete();
            if (stored.RefreshToken is null)
            {
                Console.Error.WriteLine($"removed the stored API key from {CliPaths.CredentialsFile}. The key itself stays valid; revoke it with `monkey keys revoke ID` if it should stop working.");
                return ExitCodes.Ok;
            }

            // Revoke at the service the session came from, whatever --base-url says now; Logout is
            // anonymous (the refresh token is the credential).
            using var origin = new ServiceConnection(connection.Settings with { BaseUrl = stored.BaseUrl ?? connection.Settings.BaseUrl, ApiKey = null, Stored = null });
            try
            {
                await origin.Auth.LogoutAsync(new LogoutRequest { RefreshToken = stored.RefreshToken },
                    deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: cancellationToken);
            }
            catch (RpcException ex) when (ex.StatusCode is not StatusCode.Cancelled)
            {
                var until = stored.RefreshExpiresAt?.ToString("u", Invariant) ?? "its expiry";
                Console.Error.WriteLine($"error: removed the stored session, but the service at {stored.BaseUrl} could not revoke it ({ex.Status.Detail}); it stays valid until {until}.");
                return ErrorReporter.Describe(ex, "auth logout", stored.BaseUrl ?? connection.Settings.BaseUrl).ExitCode;
            }

            Console.Error.WriteLine($"logged out of {stored.BaseUrl}: the session is revoked on the service and {CliPaths.CredentialsFile} is removed.");
            return ExitCodes.Ok;
        });
        return logout;
    }

    private static Command Status()
    {
        var status = new Command("status", "Show the credential in use and who the service says it is; exits 3 when there is none or it is rejected");
        CommandRunner.SetAction(status, "auth status", async (_, connection, cancellationToken) =>
        {
            var settings = connection.Settings;
            if (settings.ApiKey is null)
            {
                if (settings.Json)
                {
                    JsonLines.Write(w =>
                    {
                        w.WriteString("base_url", settings.BaseUrl);
                        w.WriteBoolean("has_credentials", false);
                        w.WriteString("stored_for_other_url", settings.StoredForOtherUrl);
                    });
                }

                var other = settings.StoredForOtherUrl is { } url ? $" (the stored credentials are for {url}; pass --base-url {url} to use them)" : "";
                throw new CliException(ExitCodes.Auth, $"not logged in to {settings.BaseUrl}{other}: run `monkey auth login`, pass --api-key, or set MONKEY_CODER_API_KEY.");
            }

            var principal = (await connection.Auth.WhoAmIAsync(new WhoAmIRequest(), deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: cancellationToken)).Principal;
            var stored = settings.Stored;
            var kind = stored is { IsSession: true } ? "device login session" : principal.AuthMethod;
            if (settings.Json)
            {
                JsonLines.Write(w =>
                {
                    w.WriteString("base_url", settings.BaseUrl);
                    w.WriteBoolean("has_credentials", true);
                    w.WriteString("credentials_source", settings.ApiKeySource);
                    w.WriteString("credential_kind", kind);
                    w.WriteString("key_hint", Mask(settings.ApiKey));
                    w.WriteBoolean("server_verified", true);
                    w.WriteString("principal_id", principal.Id);
                    w.WriteString("email", principal.Email);
                    w.WriteString("role", principal.Role);
                    w.WriteString("auth_method", principal.AuthMethod);
                    w.WriteString("api_key_id", principal.ApiKeyId);
                    JsonLines.WriteStrings(w, "scopes", principal.Scopes);
                    if (stored?.RefreshExpiresAt is { } sessionEnds)
                    {
                        w.WriteString("session_expires_at", sessionEnds);
                    }
                });
                return ExitCodes.Ok;
            }

            Console.Out.WriteLine($"service:     {settings.BaseUrl} (from {settings.BaseUrlSource})");
            if (principal.AuthMethod == "none")
            {
                Console.Out.WriteLine("logged in:   nobody: this service has authentication disabled (AUTH_ENABLED=false); every call is anonymous.");
                return ExitCodes.Ok;
            }

            Console.Out.WriteLine($"logged in:   {(principal.Email.Length > 0 ? principal.Email : principal.Id)} ({principal.Role})");
            Console.Out.WriteLine($"credential:  {kind} {Mask(settings.ApiKey)} (from {settings.ApiKeySource}){(principal.ApiKeyId.Length > 0 ? ", key id " + principal.ApiKeyId : "")}");
            Console.Out.WriteLine($"scopes:      {string.Join(", ", principal.Scopes)}");
            if (stored?.RefreshExpiresAt is { } ends)
            {
                Console.Out.WriteLine($"session:     renews itself until {ends.ToString("u", Invariant)} ({CliPaths.CredentialsFile})");
            }

            return ExitCodes.Ok;
        });
        return status;
    }

    private static Command Approve()
    {
        var code = new Argument<string>("user-code") { Description = "The code another device shows (e.g. WDJB-MJHT)" };
        var deny = new Option<bool>("--deny") { Description = "Reject the code instead of approving it" };
        var approve = new Command("approve", "Approve (or --deny) another device's login code as the signed-in user") { code, deny };
        CommandRunner.SetAction(approve, "auth approve", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Auth.ApproveDeviceAuthorizationAsync(
                new ApproveDeviceAuthorizationRequest { UserCode = parse.GetValue(code)!.Trim(), Deny = parse.GetValue(deny) },
                deadline: DateTime.UtcNow.AddSeconds(15), cancellationToken: cancellationToken);
            var denied = response.State == DeviceAuthorizationState.AccessDenied;
            if (connection.Settings.Json)
            {
                JsonLines.Write(w => w.WriteString("state", denied ? "denied" : "approved"));
            }
            else
            {
                Console.Error.WriteLine(denied ? "denied: that device will not be logged in." : "approved: the device finishes logging in as you within a few seconds.");
            }

            return ExitCodes.Ok;
        });
        return approve;
    }

    internal static string Mask(string? key) => key switch
    {
        null => "",
        { Length: <= 8 } => "****",
        _ => key[..4] + "…" + key[^4..],
    };
}
