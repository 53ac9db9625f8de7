namespace MonkeyCoder.Cli.Errors;

/// <summary>A failure the CLI detected itself; the message is the one line shown to the user.</summary>
internal sealed class CliException(int exitCode, string message, string? detail = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>Extra lines shown with --verbose.</summary>
    public string? Detail { get; } = detail;
}
