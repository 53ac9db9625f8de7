using Grpc.Core;

namespace MonkeyCoder.Tests.Infrastructure;

/// <summary>A bare <see cref="ServerCallContext"/> for calling interceptors and services directly (with an empty HttpContext, as ASP.NET Core hosts give).</summary>
internal sealed class TestServerCallContext : ServerCallContext
{
    private readonly string _method;
    private readonly CancellationToken _cancellationToken;

    public TestServerCallContext(string method, CancellationToken cancellationToken = default)
    {
        _method = method;
        _cancellationToken = cancellationToken;
        // Where Grpc.AspNetCore's GetHttpContext() looks.
        UserState["__HttpContext"] = HttpContext;
    }

    public Microsoft.AspNetCore.Http.DefaultHttpContext HttpContext { get; } = new();

    protected override string MethodCore => _method;

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:5000";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => _cancellationToken;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
