using System.Net;
using System.Text;

namespace MonkeyCoder.Tests.Providers;

/// <summary>
/// An in-process HTTP handler for unit tests (no network): answers with a status and a body that
/// arrives in the given pieces, one piece per read, optionally blocking afterwards until cancelled.
/// </summary>
internal sealed class ScriptedHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    public List<HttpRequestMessage> Requests { get; } = [];

    public static ScriptedHandler Sse(params string[] pieces) => new((_, _) => Task.FromResult(Response(HttpStatusCode.OK, new PiecewiseStream(pieces.Select(Encoding.UTF8.GetBytes)), "text/event-stream")));

    public static HttpResponseMessage Response(HttpStatusCode status, Stream body, string contentType)
    {
        var content = new StreamContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return new HttpResponseMessage(status) { Content = content };
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add(request);
        return respond(request, cancellationToken);
    }
}

/// <summary>A read-only stream that returns each piece in its own read (split across reads like a real socket).</summary>
internal sealed class PiecewiseStream(IEnumerable<byte[]> pieces, bool blockAtEnd = false) : Stream
{
    private readonly Queue<byte[]> _pieces = new(pieces);
    private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a read found no more pieces and is waiting (only with blockAtEnd).</summary>
    public Task Blocked => _blocked.Task;

    /// <summary>Splits text into pieces of <paramref name="size"/> bytes.</summary>
    public static IEnumerable<byte[]> Bytes(string text, int size) => Encoding.UTF8.GetBytes(text).Chunk(size);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_pieces.Count == 0)
        {
            if (!blockAtEnd)
            {
                return 0;
            }

            _blocked.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var piece = _pieces.Peek();
        var count = Math.Min(piece.Length, buffer.Length);
        piece.AsSpan(0, count).CopyTo(buffer.Span);
        _pieces.Dequeue();
        if (count < piece.Length)
        {
            _pieces.Enqueue(piece[count..]);
        }

        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
