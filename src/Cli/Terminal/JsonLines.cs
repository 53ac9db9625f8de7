using System.Text.Encodings.Web;
using System.Text.Json;

namespace MonkeyCoder.Cli.Terminal;

/// <summary>Writes one JSON object per line to stdout (NDJSON) without reflection.</summary>
internal static class JsonLines
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
