using System.Buffers;

namespace MonkeyCoder.Core.Providers.Http;

/// <summary>
/// The data of a stream's current server-sent event, in one pooled array reused for every event
/// (a copy per event was the larger part of reading a stream). Safe because a stream's events are
/// read one at a time and each is parsed before the next overwrites it (<see cref="SseEvent"/>).
/// The array returns to the pool when the stream ends.
/// </summary>
internal sealed class SseEventBuffer : IDisposable
{
    /// <summary>A first event's array: most chunk events fit. Defaults to 1 KiB.</summary>
    private const int InitialSize = 1024;

    private byte[] _array = [];

    /// <summary>The parser's callback: copies the event's data out of the parser's buffer, which it reuses.</summary>
    public SseEvent Hold(string eventType, ReadOnlySpan<byte> data)
    {
        if (data.Length > _array.Length)
        {
            var old = _array;
            _array = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, InitialSize));
            if (old.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(old);
            }
        }

        data.CopyTo(_array);
        return new SseEvent(eventType, _array.AsMemory(0, data.Length));
    }

    public void Dispose()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = [];
        }
    }
}
