using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.LoadTests.Echo;

/// <summary>
/// The floor: a Kestrel gRPC server (HTTP/2, the same stack and settings as the Service) whose one
/// method does no work. Started by the load tool as its own process: `MonkeyCoder.LoadTests echo-server --port N`.
/// </summary>
public static class EchoServer
{
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(System.Net.IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<EchoApi>();
        await app.RunAsync();
    }

    private sealed class EchoApi : EchoService.EchoServiceBase
    {
        private static readonly Lock Gate = new();
        private static readonly Dictionary<int, ByteString> Payloads = [];

        public override Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context) =>
            Task.FromResult(new EchoResponse { Payload = PayloadOf(request.ResponseSize) });

        private static ByteString PayloadOf(int size)
        {
            lock (Gate)
            {
                if (!Payloads.TryGetValue(size, out var payload))
                {
                    payload = ByteString.CopyFrom(new byte[Math.Clamp(size, 0, 1 << 20)]);
                    Payloads[size] = payload;
                }

                return payload;
            }
        }
    }
}
