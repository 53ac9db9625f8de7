namespace MonkeyCoder.Cli.Configuration;

/// <summary>
/// Where the CLI keeps its files (XDG base directories):
/// config and credentials in $XDG_CONFIG_HOME/monkey-coder (default ~/.config/monkey-coder),
/// chat state (the last session) in $XDG_STATE_HOME/monkey-coder (default ~/.local/state/monkey-coder).
/// </summary>
internal static class CliPaths
{
    public const string AppFolder = "monkey-coder";

    public static string ConfigDirectory => Path.Combine(Base("XDG_CONFIG_HOME", ".config"), AppFolder);

    public static string ConfigFile => Path.Combine(ConfigDirectory, "config.json");

    public static string CredentialsFile => Path.Combine(ConfigDirectory, "credentials.json");

    public static string StateDirectory => Path.Combine(Base("XDG_STATE_HOME", Path.Combine(".local", "state")), AppFolder);

    public static string LastSessionFile => Path.Combine(StateDirectory, "last-session");

    private static string Base(string variable, string fallbackUnderHome)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value) && Path.IsPathRooted(value))
        {
            return value;
        }

        var home = Environment.GetEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return Path.Combine(home, fallbackUnderHome);
    }
}
