using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Sessions;

/// <summary>One stored turn of a conversation.</summary>
internal sealed record StoredTurn(string Role, string Content, DateTimeOffset At, string Model = "");

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StoredTurn))]
[JsonSerializable(typeof(List<StoredTurn>))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;
