using System.Text.Json.Serialization;

namespace MonkeyCoder.Cli.Configuration;

/// <summary>Source-generated JSON for the CLI's files (no reflection: the CLI publishes as native AOT).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(StoredCredentials))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
