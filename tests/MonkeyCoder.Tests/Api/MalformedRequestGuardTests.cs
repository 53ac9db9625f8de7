using System.Buffers;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Api;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Api;

public sealed class MalformedRequestGuardTests
{
    [Fact]
    public void ValidBody_ParsesAsTheGeneratedMarshallerDoes()
    {
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "hello", MaxTokens = 20 };

        var parsed = Deserialize(request.ToByteArray());

        Assert.Equal(request, parsed);
    }

    public static TheoryData<string, byte[]> MalformedBodies() => new()
    {
        // A valid request cut inside its prompt.
        { "truncated", new ExecuteRequest { Prompt = "a prompt long enough to cut" }.ToByteArray()[..10] },
        { "garbage", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] },
        { "tag zero", [0x00, 0x01] },
        // prompt (field 2, length 2) holding bytes that are not UTF-8.
        { "invalid utf-8", [0x12, 0x02, 0xC3, 0x28] },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void MalformedBody_InvalidArgumentWithMalformedRequestDetails(string kind, byte[] body)
    {
        var ex = Assert.Throws<RpcException>(() => Deserialize(body));

        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, kind);
        var status = ex.GetRpcStatus()!;
        var info = status.GetDetail<ErrorInfo>();
        Assert.Equal("MALFORMED_REQUEST", info.Reason);
        Assert.Equal(RpcErrors.Domain, info.Domain);
        Assert.Equal("/monkeycoder.v1.RouterService/Execute", info.Metadata["method"]);
        Assert.Equal("request", Assert.Single(status.GetDetail<BadRequest>().FieldViolations).Field);
        // The trailer the server sends: google.rpc.Status, binary.
        Assert.NotNull(ex.Trailers.Get("grpc-status-details-bin"));
    }

    [Fact]
    public async Task HandlerOf_CallsTheMethodOnTheGivenInstance()
    {
        var route = MethodsOf<RouterService.RouterServiceBase>(RouterService.BindService).Single(m => m.Name == "Route");
        var first = new FakeRouter();
        var second = new FakeRouter();

        var handler = GuardedServiceMethodProvider<FakeRouter>.HandlerOf<UnaryServerMethod<ExecuteRequest, RouteResponse>>(RouterService.BindService, route, second);

        Assert.Same(second.Answer, await handler(new ExecuteRequest(), null!));
        Assert.Equal(0, first.Calls);
        Assert.Equal(1, second.Calls);
    }

    [Fact]
    public void EveryContractService_IsGuardedOnceAndGrpcDefaultsMoveUnderTheirKey()
    {
        var services = new ServiceCollection();
        services.AddGrpc();
        services.AddMonkeyCoderMalformedRequestGuard();
        // A second AddGrpc (AddGrpcSwagger does one) and guard: still one of each.
        services.AddGrpc();
        services.AddMonkeyCoderMalformedRequestGuard();

        // Every generated service base class of the contract (marked for grpc-dotnet's binder) has a
        // guarded implementation: a new service left out would answer UNKNOWN again.
        var generated = typeof(RouterService).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(BindServiceMethodAttribute), inherit: false).Length > 0)
            .ToHashSet();
        var guarded = ((MalformedRequestGuard.GuardedServices)services.Single(d => d.ServiceType == typeof(MalformedRequestGuard.GuardedServices)).ImplementationInstance!).Types;
        Assert.Equal(generated.OrderBy(t => t.FullName), guarded.Select(t => t.BaseType!).OrderBy(t => t.FullName));
        foreach (var type in guarded)
        {
            var provider = typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>).MakeGenericType(type);
            Assert.Single(services, d => d.ServiceType == provider);
        }

        var open = services.Where(d => d.ServiceType == typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>)).ToList();
        var grpcServer = typeof(Grpc.AspNetCore.Server.GrpcServiceOptions).Assembly;
        Assert.DoesNotContain(open, d => !d.IsKeyedService && d.ImplementationType!.Assembly == grpcServer);
        var moved = open.Where(d => d.IsKeyedService).Select(d => d.KeyedImplementationType!).ToList();
        Assert.NotEmpty(moved);
        Assert.Equal(moved.Distinct().Count(), moved.Count);
        Assert.Single(open, d => !d.IsKeyedService && d.ImplementationType!.Assembly == typeof(MalformedRequestGuard).Assembly);
    }

    private static ExecuteRequest Deserialize(byte[] body)
    {
        var execute = (Method<ExecuteRequest, ExecuteResponse>)MethodsOf<RouterService.RouterServiceBase>(RouterService.BindService).Single(m => m.Name == "Execute");
        var guarded = MalformedRequestGuard.Guard(execute.RequestMarshaller, execute.FullName);
        return guarded.ContextualDeserializer(new Payload(body));
    }

    /// <summary>The generated static methods of a service, as its BindService hands them to a binder.</summary>
    private static List<IMethod> MethodsOf<TService>(Action<ServiceBinderBase, TService?> bindService) where TService : class
    {
        var binder = new CollectingBinder();
        bindService(binder, null);
        return binder.Methods;
    }

    private sealed class CollectingBinder : ServiceBinderBase
    {
        public List<IMethod> Methods { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) => Methods.Add(method);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) => Methods.Add(method);
    }

    private sealed class Payload(byte[] body) : DeserializationContext
    {
        public override int PayloadLength => body.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])body.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(body);
    }

    private sealed class FakeRouter : RouterService.RouterServiceBase
    {
        public RouteResponse Answer { get; } = new();

        public int Calls { get; private set; }

        public override Task<RouteResponse> Route(ExecuteRequest request, ServerCallContext context)
        {
            Calls++;
            return Task.FromResult(Answer);
        }
    }
}
