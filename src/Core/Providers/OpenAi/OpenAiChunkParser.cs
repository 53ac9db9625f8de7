using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace MonkeyCoder.Core.Providers.OpenAi;

/// <summary>
/// Reads one <c>chat.completion.chunk</c> event with a <see cref="Utf8JsonReader"/> loop: a stream
/// has one event per token or two, and the serializer's object graph per event was a fifth of the
/// bytes a call allocated. It accepts and refuses what deserializing <see cref="ChatCompletion"/>
/// with <see cref="OpenAiJsonContext"/> did: property names case-insensitive, the last of duplicate
/// properties wins, unknown properties skipped unread, and a wrong type anywhere in the shapes we
/// declare (a number for <c>content</c>, a string for <c>index</c>, trailing data) is a
/// <see cref="JsonException"/>, which the stream counts as a bad event. Fields the stream does not
/// use (role, model, type, total_tokens, message) are checked, not allocated. A JSON null choice or
/// tool call is skipped (the serializer made it a null entry).
/// </summary>
internal static class OpenAiChunkParser
{
    /// <summary>Fills <paramref name="chunk"/> from <paramref name="json"/>; throws <see cref="JsonException"/> on anything the DTOs refused.</summary>
    public static void Parse(ReadOnlySpan<byte> json, OpenAiChunk chunk)
    {
        chunk.Clear();
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        if (!reader.Read())
        {
            throw new JsonException("The event data is empty.");
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                ReadChunk(ref reader, json, chunk);
                break;
            case JsonTokenType.Null:
                throw new JsonException("The event data is JSON null.");
            default:
                throw new JsonException($"The event data is a JSON {reader.TokenType}, not an object.");
        }

        if (reader.Read())
        {
            throw new JsonException("The event data has content after its object.");
        }
    }

    private static void ReadChunk(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, OpenAiChunk chunk)
    {
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "choices"u8))
            {
                ReadChoices(ref reader, chunk);
            }
            else if (Is(ref reader, "usage"u8))
            {
                chunk.Usage = ReadUsage(ref reader);
            }
            else if (Is(ref reader, "error"u8))
            {
                chunk.ErrorJson = ReadRawObject(ref reader, json);
            }
            else if (Is(ref reader, "model"u8))
            {
                CheckString(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void ReadChoices(ref Utf8JsonReader reader, OpenAiChunk chunk)
    {
        Read(ref reader);
        chunk.Choices.Clear();
        chunk.ToolCalls.Clear();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(ref reader, JsonTokenType.StartArray);
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            Expect(ref reader, JsonTokenType.StartObject);
            ReadChoice(ref reader, chunk);
        }
    }

    private static void ReadChoice(ref Utf8JsonReader reader, OpenAiChunk chunk)
    {
        var calls = chunk.ToolCalls;
        var start = calls.Count;
        var index = 0;
        string? content = null;
        string? refusal = null;
        string? finish = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "index"u8))
            {
                index = ReadInt32(ref reader);
            }
            else if (Is(ref reader, "delta"u8))
            {
                // A repeated delta replaces the earlier one, tool-call pieces included.
                calls.RemoveRange(start, calls.Count - start);
                (content, refusal) = ReadBody(ref reader, calls);
            }
            else if (Is(ref reader, "message"u8))
            {
                // A unary field: checked as the serializer did, then dropped.
                var before = calls.Count;
                _ = ReadBody(ref reader, calls);
                calls.RemoveRange(before, calls.Count - before);
            }
            else if (Is(ref reader, "finish_reason"u8))
            {
                finish = ReadString(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        if (index == 0)
        {
            chunk.Choices.Add(new OpenAiChoiceDelta(content, refusal, finish, start, calls.Count - start));
        }
        else
        {
            calls.RemoveRange(start, calls.Count - start);
        }
    }

    /// <summary>A delta (or message) object or null: its content and refusal; its tool-call pieces are appended to <paramref name="calls"/>.</summary>
    private static (string? Content, string? Refusal) ReadBody(ref Utf8JsonReader reader, List<ToolCallDelta> calls)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return (null, null);
        }

        Expect(ref reader, JsonTokenType.StartObject);
        var start = calls.Count;
        string? content = null;
        string? refusal = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "content"u8))
            {
                content = ReadString(ref reader);
            }
            else if (Is(ref reader, "refusal"u8))
            {
                refusal = ReadString(ref reader);
            }
            else if (Is(ref reader, "tool_calls"u8))
            {
                calls.RemoveRange(start, calls.Count - start);
                ReadToolCalls(ref reader, calls);
            }
            else if (Is(ref reader, "role"u8))
            {
                CheckString(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return (content, refusal);
    }

    private static void ReadToolCalls(ref Utf8JsonReader reader, List<ToolCallDelta> calls)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(ref reader, JsonTokenType.StartArray);
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            Expect(ref reader, JsonTokenType.StartObject);
            calls.Add(ReadToolCall(ref reader));
        }
    }

    /// <summary>
    /// One tool-call piece: OpenAI sends index on every piece; id, type and name on the first piece of a
    /// call only. An empty id or name counts as absent; arguments stay as sent ("" is not null).
    /// </summary>
    private static ToolCallDelta ReadToolCall(ref Utf8JsonReader reader)
    {
        int? index = null;
        string? id = null;
        string? name = null;
        string? arguments = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "index"u8))
            {
                index = ReadNullableInt32(ref reader);
            }
            else if (Is(ref reader, "id"u8))
            {
                id = ReadString(ref reader);
            }
            else if (Is(ref reader, "function"u8))
            {
                (name, arguments) = ReadFunction(ref reader);
            }
            else if (Is(ref reader, "type"u8))
            {
                CheckString(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return new ToolCallDelta(index ?? 0, id is { Length: > 0 } ? id : null, name is { Length: > 0 } ? name : null, arguments);
    }

    private static (string? Name, string? Arguments) ReadFunction(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return (null, null);
        }

        Expect(ref reader, JsonTokenType.StartObject);
        string? name = null;
        string? arguments = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "name"u8))
            {
                name = ReadString(ref reader);
            }
            else if (Is(ref reader, "arguments"u8))
            {
                arguments = ReadString(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return (name, arguments);
    }

    private static OpenAiUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject);
        long? prompt = null;
        long? completion = null;
        long? cached = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "prompt_tokens"u8))
            {
                prompt = ReadNullableInt64(ref reader);
            }
            else if (Is(ref reader, "completion_tokens"u8))
            {
                completion = ReadNullableInt64(ref reader);
            }
            else if (Is(ref reader, "total_tokens"u8))
            {
                _ = ReadNullableInt64(ref reader);
            }
            else if (Is(ref reader, "prompt_tokens_details"u8))
            {
                cached = ReadCachedTokens(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return new OpenAiUsage(prompt, completion, cached);
    }

    private static long? ReadCachedTokens(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject);
        long? cached = null;
        while (NextProperty(ref reader))
        {
            if (Is(ref reader, "cached_tokens"u8))
            {
                cached = ReadNullableInt64(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return cached;
    }

    /// <summary>
    /// The exact text of an object value (as <see cref="JsonElement.GetRawText"/> gave it); null for any
    /// other value. Invalid UTF-8 in it is a bad event (GetRawText threw InvalidOperationException,
    /// which escaped the bad-event count).
    /// </summary>
    private static string? ReadRawObject(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        Read(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var raw = json[start..(int)reader.BytesConsumed];
        return Utf8.IsValid(raw) ? Encoding.UTF8.GetString(raw) : throw new JsonException("The error object is not valid UTF-8.");
    }

    /// <summary>Moves to the next property name of the current object: false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader) => Read(ref reader) switch
    {
        JsonTokenType.PropertyName => true,
        JsonTokenType.EndObject => false,
        var other => throw new JsonException($"Expected a property name, got {other}."),
    };

    /// <summary>The serializer matched names case-insensitively (<see cref="OpenAiJsonContext"/>); so does this.</summary>
    private static bool Is(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (reader.ValueTextEquals(name))
        {
            return true;
        }

        return reader.ValueIsEscaped
            ? string.Equals(GetString(ref reader), Encoding.UTF8.GetString(name), StringComparison.OrdinalIgnoreCase)
            : Ascii.EqualsIgnoreCase(reader.ValueSpan, name);
    }

    private static JsonTokenType Read(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("The event data ended inside a value.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected)
    {
        if (reader.TokenType != expected)
        {
            throw new JsonException($"Expected {expected}, got {reader.TokenType}.");
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader) => Read(ref reader) switch
    {
        JsonTokenType.String => GetString(ref reader),
        JsonTokenType.Null => null,
        var other => throw new JsonException($"Expected a string, got {other}."),
    };

    /// <summary>A string or null the stream does not use: refused where the serializer refused it, without allocating.</summary>
    private static void CheckString(ref Utf8JsonReader reader)
    {
        switch (Read(ref reader))
        {
            case JsonTokenType.Null:
                return;
            case JsonTokenType.String when reader.ValueIsEscaped:
                _ = GetString(ref reader);
                return;
            case JsonTokenType.String when Utf8.IsValid(reader.ValueSpan):
                return;
            case JsonTokenType.String:
                throw new JsonException("The string is not valid UTF-8.");
            case var other:
                throw new JsonException($"Expected a string, got {other}.");
        }
    }

    /// <summary>Unescapes and transcodes; invalid UTF-8 or a lone surrogate escape is a <see cref="JsonException"/>, as in the serializer.</summary>
    private static string GetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException(ex.Message, ex);
        }
    }

    private static int ReadInt32(ref Utf8JsonReader reader) =>
        Read(ref reader) == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"Expected a 32-bit integer, got {reader.TokenType}.");

    private static int? ReadNullableInt32(ref Utf8JsonReader reader)
    {
        if (Read(ref reader) == JsonTokenType.Null)
        {
            return null;
        }

        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"Expected a 32-bit integer or null, got {reader.TokenType}.");
    }

    private static long? ReadNullableInt64(ref Utf8JsonReader reader)
    {
        if (Read(ref reader) == JsonTokenType.Null)
        {
            return null;
        }

        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value)
            ? value
            : throw new JsonException($"Expected a 64-bit integer or null, got {reader.TokenType}.");
    }
}
