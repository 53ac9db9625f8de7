using System.Text.Json;
using System.Text.Json.Serialization;
using MonkeyCoder.Cli.Errors;

namespace MonkeyCoder.Cli.Configuration;

internal sealed class StoredCredentials
{
    [JsonPropertyName("api_key")]
    public string? ApiKey { get; set; }

    [JsonPropertyName("base_url")]
    public string? BaseUrl { get; set; }

    [JsonPropertyName("saved_at")]
    public DateTimeOffset? SavedAt { get; set; }
}

/// <summary>
/// The credentials file (credentials.json), separate from config.json and readable only by the
/// user (mode 0600; its folder 0700). Holds the API key or token sent as `authorization: Bearer`.
/// </summary>
internal static class Credentials
{
    public static StoredCredentials? Load()
    {
        var path = CliPaths.CredentialsFile;
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), CliJsonContext.Default.StoredCredentials);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Auth, $"reading {path} failed ({ex.Message}). Run `monkey auth logout` and log in again.");
        }
    }

    public static void Save(StoredCredentials credentials)
    {
        var dir = CliPaths.ConfigDirectory;
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var path = CliPaths.CredentialsFile;
        var temp = path + ".tmp";
        // Create the file private before any secret is written to it.
        using (var stream = OperatingSystem.IsWindows()
            ? new FileStream(temp, FileMode.Create, FileAccess.Write)
            : new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
        {
            JsonSerializer.Serialize(stream, credentials, CliJsonContext.Default.StoredCredentials);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Deletes the file; false when there was none.</summary>
    public static bool Delete()
    {
        if (!File.Exists(CliPaths.CredentialsFile))
        {
            return false;
        }

        File.Delete(CliPaths.CredentialsFile);
        return true;
    }
}
