using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Account;

/// <summary>keys create|list|revoke over ApiKeyService. The secret is printed once, alone on stdout, so `KEY=$(monkey keys create ci)` works.</summary>
internal static class KeyCommands
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Create() => new("keys", "Create, list and revoke API keys") { CreateKey(), List(), Revoke() };

    private static Command CreateKey()
    {
        var name = new Argument<string>("name") { Description = "A label for the new key (e.g. ci, laptop)" };
        var scopes = new Option<string[]>("--scope") { Description = "Scope to grant, repeatable (default: all of yours). e.g. execute, route, models:read, usage:read, sessions", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var expires = new Option<string?>("--expires-in") { Description = "Lifetime, e.g. 30d, 12h, 90m (default: never)" };
        var rpm = new Option<int?>("--requests-per-minute") { Description = "Request rate limit for this key (default: the service's)" };
        var tpm = new Option<int?>("--tokens-per-minute") { Description = "Token rate limit for this key (default: the service's)" };
        var budget = new Option<double?>("--monthly-budget") { Description = "Spending cap in USD per calendar month" };
        var allow = new Option<string[]>("--allow-model") { Description = "Restrict the key to this model or provider, repeatable (e.g. openai, anthropic/claude-sonnet-5-5)", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var create = new Command("create", "Create an API key; the secret is shown once") { name, scopes, expires, rpm, tpm, budget, allow };
        CommandRunner.SetAction(create, "keys create", async (parse, connection, cancellationToken) =>
        {
            var request = new CreateApiKeyRequest { Name = parse.GetValue(name)! };
            request.Scopes.AddRange(parse.GetValue(scopes) ?? []);
            request.AllowedModels.AddRange(parse.GetValue(allow) ?? []);
            if (parse.GetValue(expires) is { } lifetime)
            {
                request.ExpiresIn = Duration.FromTimeSpan(ParseLifetime(lifetime));
            }

            if (parse.GetValue(rpm) is { } r)
            {
                request.RequestsPerMinute = r;
            }

            if (parse.GetValue(tpm) is { } t)
            {
                request.TokensPerMinute = t;
            }

            if (parse.GetValue(budget) is { } b)
            {
                request.MonthlyBudgetUsd = b;
            }

            var response = await connection.ApiKeys.CreateApiKeyAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                JsonLines.WriteMessage(response);
                return ExitCodes.Ok;
            }

            var key = response.ApiKey;
            Console.Out.WriteLine(response.Secret);
            Console.Error.WriteLine($"created key {key.KeyId} '{key.Name}' ({key.Prefix}…), scopes {string.Join(", ", key.Scopes)}{(key.ExpireTime is { } e ? ", expires " + Time(e) : "")}.");
            Console.Error.WriteLine("This is the only time the secret is shown: store it now (e.g. `monkey auth login --with-key`).");
            return ExitCodes.Ok;
        });
        return create;
    }

    private static Command List()
    {
        var all = new Option<bool>("--all-users") { Description = "Every user's keys (admins)" };
        var revoked = new Option<bool>("--include-revoked") { Description = "Include revoked keys" };
        var list = new Command("list", "List API keys (id, prefix, scopes, expiry, last use); never the secrets") { all, revoked };
        CommandRunner.SetAction(list, "keys list", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.ApiKeys.ListApiKeysAsync(new ListApiKeysRequest { AllUsers = parse.GetValue(all), IncludeRevoked = parse.GetValue(revoked) },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                foreach (var key in response.ApiKeys)
                {
                    JsonLines.WriteMessage(key);
                }

                return ExitCodes.Ok;
            }

            var table = Tables.Create("id", "name", "prefix", "scopes", "created", "expires", "last used", "state");
            foreach (var key in response.ApiKeys)
            {
                var state = key.RevokeTime is { } r ? "revoked " + Time(r) : key.ExpireTime is { } e && e.ToDateTimeOffset() <= DateTimeOffset.UtcNow ? "expired" : "active";
                Tables.AddRow(table, key.KeyId, key.Name, key.Prefix, string.Join(" ", key.Scopes), Time(key.CreateTime), Time(key.ExpireTime, "never"), Time(key.LastUsedTime, "never"), state);
            }

            Tables.Out.Write(table);
            Console.Error.WriteLine($"{response.ApiKeys.Count} key(s).");
            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command Revoke()
    {
        var id = new Argument<string>("id") { Description = "Key id (key_…) or the key's prefix (mk_…) as `keys list` shows it" };
        var revoke = new Command("revoke", "Revoke an API key: it stops working on every replica within seconds") { id };
        CommandRunner.SetAction(revoke, "keys revoke", async (parse, connection, cancellationToken) =>
        {
            var given = parse.GetValue(id)!.Trim();
            var keyId = given;
            if (!given.StartsWith("key_", StringComparison.Ordinal))
            {
                // A prefix: find the one key it names among those the caller may see.
                var keys = await connection.ApiKeys.ListApiKeysAsync(new ListApiKeysRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                var matches = keys.ApiKeys.Where(k => k.Prefix.Length > 0 && (k.Prefix == given || given.StartsWith(k.Prefix, StringComparison.Ordinal))).ToList();
                keyId = matches.Count switch
                {
                    1 => matches[0].KeyId,
                    0 => throw new CliException(ExitCodes.InvalidInput, $"no active key of yours has the prefix '{given}'. List them with `monkey keys list`."),
                    _ => throw new CliException(ExitCodes.InvalidInput, $"'{given}' matches {matches.Count} keys; pass the key id (key_…) from `monkey keys list`."),
                };
            }

            var response = await connection.ApiKeys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = keyId }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                JsonLines.WriteMessage(response.ApiKey);
            }
            else
            {
                Console.Error.WriteLine($"revoked key {response.ApiKey.KeyId} '{response.ApiKey.Name}' ({response.ApiKey.Prefix}…).");
            }

            return ExitCodes.Ok;
        });
        return revoke;
    }

    /// <summary>"30d", "12h", "90m", "45s" → a lifetime.</summary>
    internal static TimeSpan ParseLifetime(string text)
    {
        var value = text.Trim();
        if (value.Length >= 2 && int.TryParse(value[..^1], NumberStyles.None, Invariant, out var n) && n > 0)
        {
            switch (char.ToLowerInvariant(value[^1]))
            {
                case 'd': return TimeSpan.FromDays(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 's': return TimeSpan.FromSeconds(n);
            }
        }

        throw new CliException(ExitCodes.Usage, $"--expires-in '{text}' is not a lifetime: use a whole number with d, h, m or s (e.g. 30d).");
    }

    internal static string Time(Timestamp? time, string none = "") =>
        time is null ? none : time.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm", Invariant);
}
