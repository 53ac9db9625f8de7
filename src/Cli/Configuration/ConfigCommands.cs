using System.CommandLine;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;

namespace MonkeyCoder.Cli.Configuration;

/// <summary>`monkey config get|set|list` over config.json (no network).</summary>
internal static class ConfigCommands
{
    public static Command Create()
    {
        var getKey = new Argument<string>("key") { Description = "Setting name" };
        var get = new Command("get", "Print a setting (exits 1 when it is not set)") { getKey };
        get.SetAction(parse => Run(parse, "config get", () =>
        {
            var key = parse.GetValue(getKey)!;
            ConfigFile.Validate(key, null);
            var value = ConfigFile.Get(key);
            if (value is null)
            {
                return ExitCodes.Failure;
            }

            Console.Out.WriteLine(value);
            return ExitCodes.Ok;
        }));

        var setKey = new Argument<string>("key") { Description = "Setting name" };
        var setValue = new Argument<string?>("value") { Description = "New value; omit with --unset", Arity = ArgumentArity.ZeroOrOne };
        var unset = new Option<bool>("--unset") { Description = "Remove the setting" };
        var set = new Command("set", "Change a setting") { setKey, setValue, unset };
        set.SetAction(parse => Run(parse, "config set", () =>
        {
            var key = parse.GetValue(setKey)!;
            var value = parse.GetValue(unset) ? null : parse.GetValue(setValue) ?? throw new CliException(ExitCodes.Usage, $"config set {key}: give a value, or --unset.");
            ConfigFile.Set(key, value);
            Console.Error.WriteLine(value is null ? $"unset {key}" : $"{key} = {value}  ({CliPaths.ConfigFile})");
            return ExitCodes.Ok;
        }));

        var list = new Command("list", "List every setting with its value");
        list.SetAction(parse => Run(parse, "config list", () =>
        {
            var values = ConfigFile.Load();
            if (parse.GetValue(CliSettings.JsonOption))
            {
                JsonLines.Write(w =>
                {
                    foreach (var (key, value) in values)
                    {
                        w.WriteString(key, value);
                    }
                });
                return ExitCodes.Ok;
            }

            Console.Out.WriteLine($"# {CliPaths.ConfigFile}");
            var table = Tables.Create("setting", "value", "meaning");
            foreach (var (key, meaning) in ConfigFile.Keys)
            {
                Tables.AddRow(table, key, values.GetValueOrDefault(key) ?? "(not set)", meaning);
            }

            Tables.Out.Write(table);
            return ExitCodes.Ok;
        }));

        return new Command("config", "Read and change settings (XDG config: $XDG_CONFIG_HOME/monkey-coder/config.json)") { get, set, list };
    }

    private static int Run(ParseResult parse, string action, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex)
        {
            return CommandRunner.Fail(ex, action, null, parse);
        }
    }
}
