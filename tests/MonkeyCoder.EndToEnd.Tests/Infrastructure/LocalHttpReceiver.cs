using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace MonkeyCoder.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on 127.0.0.1 that records every request (method, path, body, gunzipped when
/// the client compressed it) and answers with a fixed status. Stands in for a Sentry DSN, a Slack
/// webhook or a provider's model-list endpoint. Dispose (or <see cref="Stop"/>) closes the port.
/// </summary>
public sealed class LocalHttpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly Task _loop;

    public LocalHttpReceiver(int status = 200, string responseBody = "{}")
    {
        Port = HostProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(() => LoopAsync(status, responseBody));
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public IReadOnlyCollection<ReceivedRequest> Requests => _requests;

    /// <summary>Closes the port: later connections are refused, as when a provider goes down.</summary>
    public void Stop()
    {
        if (_listener.IsListening)
        {
            _listener.Stop();
        }
    }

    public async Task<bool> WaitForAsync(Func<IReadOnlyCollection<ReceivedRequest>, bool> condition, TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (condition(Requests))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition(Requests);
    }

    public void Dispose()
    {
        Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync(int status, string responseBody)
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var buffer = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(buffer);
            var bytes = buffer.ToArray();
            if (string.Equals(context.Request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                await gzip.CopyToAsync(plain);
                bytes = plain.ToArray();
            }

            var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            _requests.Enqueue(new ReceivedRequest(context.Request.HttpMethod, context.Request.Url?.AbsolutePath ?? "", headers, Encoding.UTF8.GetString(bytes)));
            context.Response.StatusCode = status;
            var body = Encoding.UTF8.GetBytes(responseBody);
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }
}

public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>
    /// The item types of a Sentry envelope body (newline-separated JSON: envelope header, then
    /// item header + payload pairs), e.g. ["event"].
    /// </summary>
    public IReadOnlyList<(string Type, string Payload)> EnvelopeItems()
    {
        var lines = Body.Split('\n');
        var items = new List<(string, string)>();
        for (var i = 1; i + 1 < lines.Length + 1 && i < lines.Length; i += 2)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                break;
            }

            using var header = System.Text.Json.JsonDocument.Parse(lines[i]);
            var type = header.RootElement.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            items.Add((type, i + 1 < lines.Length ? lines[i + 1] : ""));
        }

        return items;
    }
}
