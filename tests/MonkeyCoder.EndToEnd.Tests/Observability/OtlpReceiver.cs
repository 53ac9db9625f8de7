using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

/// <summary>
/// A minimal OTLP/HTTP (protobuf) trace receiver on a loopback port: decodes each
/// <c>POST /v1/traces</c> body as <c>ExportTraceServiceRequest</c> and keeps the spans with their
/// resource's service name. Answers 200 with an empty <c>ExportTraceServiceResponse</c>.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Service, Span Span)> _spans = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = HostProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>For <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the exporter appends <c>/v1/traces</c>).</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<(string Service, Span Span)> Spans => _spans.ToList();

    public async Task<bool> WaitForAsync(Func<IReadOnlyList<(string Service, Span Span)>, bool> condition, TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (condition(Spans))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition(Spans);
    }

    public void Dispose()
    {
        if (_listener.IsListening)
        {
            _listener.Stop();
        }

        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
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
            Stream body = context.Request.InputStream;
            if (string.Equals(context.Request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
            {
                body = new GZipStream(body, CompressionMode.Decompress);
            }

            await body.CopyToAsync(buffer);
            if (context.Request.Url?.AbsolutePath == "/v1/traces")
            {
                var request = ExportTraceServiceRequest.Parser.ParseFrom(buffer.ToArray());
                foreach (var resource in request.ResourceSpans)
                {
                    var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value.StringValue ?? "";
                    foreach (var span in resource.ScopeSpans.SelectMany(s => s.Spans))
                    {
                        _spans.Enqueue((service, span));
                    }
                }
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            var answer = new ExportTraceServiceResponse().ToByteArray();
            await context.Response.OutputStream.WriteAsync(answer);
            context.Response.Close();
        }
    }
}

/// <summary>Reading OTLP spans in assertions.</summary>
public static class OtlpSpans
{
    public static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.ToByteArray());

    public static string? Attribute(this Span span, string key)
    {
        var value = span.Attributes.FirstOrDefault(a => a.Key == key)?.Value;
        return value?.ValueCase switch
        {
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.StringValue => value.StringValue,
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OpenTelemetry.Proto.Common.V1.AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
            _ => null,
        };
    }
}
