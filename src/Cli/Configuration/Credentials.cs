using System.Text.Json;
using System.Text.Json.Serialization;
using MonkeyCoder.Cli.Errors;

namespace MonkeyCoder.Cli.Configuration;

internal sealed class StoredCredentials
{
    /// <summary>An API key stored with `auth login --api-key/--with-key`.</summary>
    [JsonPropertyName("api_key")]
    public string? ApiKey { get; set; }

    /// <summary>The short-lived access token (JWT) from the device flow; refreshed before it expires.</summary>
    [JsonPropertyName("access_token")]
    public string? AccessToken { get; set; }

    [JsonPropertyName("access_expires_at")]
    public DateTimeOffset? AccessExpiresAt { get; set; }

    /// <summary>The rotating refresh token: each refresh replaces it, and logout revokes it on the server.</summary>
    [JsonPropertyName("refresh_token")]
    public string? RefreshToken { get; set; }

    [JsonPropertyName("refresh_expires_at")]
    public DateTimeOffset? RefreshExpiresAt { get; set; }

    /// <summary>Who logged in (shown by `auth status` without a call).</summary>
    [JsonPropertyName("email")]
    public string? Email { get; set; }

    [JsonPropertyName("base_url")]
    public string? BaseUrl { get; set; }

    [JsonPropertyName("saved_at")]
    public DateTimeOffset? SavedAt { get; set; }

    /// <summary>The credential sent as `authorization: Bearer`: the API key, else the access token.</summary>
    [JsonIgnore]
    public string? Bearer => ApiKey ?? AccessToken;

    /// <summary>True for a device-flow login (tokens), false for a stored API key.</summary>
    [JsonIgnore]
    public bool IsSession => ApiKey is null && RefreshToken is not null;
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
