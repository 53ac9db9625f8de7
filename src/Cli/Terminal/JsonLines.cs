using System.Text.Encodings.Web;
using System.Text.Json;

namespace MonkeyCoder.Cli.Terminal;

/// <summary>Writes one JSON object per line to stdout (NDJSON) without reflection.</summary>
internal static class JsonLines
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Proto3 JSON with the proto's own snake_case field names, defaults included (so columns never go missing).</summary>
    private static readonly Google.Protobuf.JsonFormatter Proto = new(Google.Protobuf.JsonFormatter.Settings.Default
        .WithFormatDefaultValues(true)
        .WithPreserveProtoFieldNames(true)
        .WithFormatEnumsAsIntegers(false));

    /// <summary>One protobuf message as one line, in the canonical proto3 JSON mapping.</summary>
    public static void WriteMessage(Google.Protobuf.IMessage message)
    {
        var line = Proto.Format(message);
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(System.Text.Encoding.UTF8.GetBytes(line));
        stdout.WriteByte((byte)'\n');
        stdout.Flush();
    }

    /// <summary>Writes <c>"name": [values…]</c> into the object being written.</summary>
    public static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    public static void Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        using var stdout = Console.OpenStandardOutput();
        stdout.Write(buffer.WrittenSpan);
        stdout.WriteByte((byte)'\n');
        stdout.Flush();
    }
}
