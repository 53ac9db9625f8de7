using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// A request body that is not valid protobuf answers INVALID_ARGUMENT <c>MALFORMED_REQUEST</c>
/// (<see cref="RpcErrors.MalformedRequest"/>), not UNKNOWN with an error log.
/// <para>
/// grpc-dotnet deserializes the request before any interceptor runs, with the generated (static)
/// marshallers, so the call pipeline (<see cref="Calls.ErrorMappingStep"/>) never sees a parse failure. Each Monkey Coder
/// service is therefore bound by <see cref="GuardedServiceMethodProvider{TService}"/>: it calls the
/// generated <c>BindService(ServiceBinderBase, TService)</c> and adds every method again with a
/// request marshaller whose deserializer turns a parse failure into that <see cref="RpcException"/>
/// (grpc-dotnet writes an RpcException from reading the message as its status and trailers).
/// grpc-dotnet's own reflection binder (<c>BinderServiceMethodProvider</c>) is kept for every other
/// service (gRPC health) and skipped for these, so each route is mapped once. JSON transcoding's
/// provider (REST host) is untouched: it reads JSON, not these marshallers.
/// </para>
/// </summary>
public static class MalformedRequestGuard
{
    /// <summary>The key under which grpc-dotnet's own method providers stay registered.</summary>
    internal const string GrpcDefaultKey = "monkeycoder:grpc-default-method-providers";

    /// <summary>
    /// Binds the Monkey Coder services with guarded marshallers. Call after <c>AddGrpc</c>; calling it
    /// again (after something else called <c>AddGrpc</c>) is harmless.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderMalformedRequestGuard(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(GuardedServices)))
        {
            services.AddSingleton(new GuardedServices(
            [
                typeof(RouterApi), typeof(ModelApi), typeof(UsageApi), typeof(SessionApi),
                typeof(AuthApi), typeof(ApiKeyApi), typeof(UserApi),
            ]));
            services.AddSingleton<IServiceMethodProvider<RouterApi>>(new GuardedServiceMethodProvider<RouterApi>(RouterService.BindService));
            services.AddSingleton<IServiceMethodProvider<ModelApi>>(new GuardedServiceMethodProvider<ModelApi>(ModelService.BindService));
            services.AddSingleton<IServiceMethodProvider<UsageApi>>(new GuardedServiceMethodProvider<UsageApi>(UsageService.BindService));
            services.AddSingleton<IServiceMethodProvider<SessionApi>>(new GuardedServiceMethodProvider<SessionApi>(SessionService.BindService));
            services.AddSingleton<IServiceMethodProvider<AuthApi>>(new GuardedServiceMethodProvider<AuthApi>(AuthService.BindService));
            services.AddSingleton<IServiceMethodProvider<ApiKeyApi>>(new GuardedServiceMethodProvider<ApiKeyApi>(ApiKeyService.BindService));
            services.AddSingleton<IServiceMethodProvider<UserApi>>(new GuardedServiceMethodProvider<UserApi>(UserService.BindService));
        }

        // grpc-dotnet's providers (open generics, applied to every mapped service) move under a key;
        // in their place, one provider that runs them for every service except the guarded ones.
        // (AddGrpc adds them again if called later, e.g. by AddGrpcSwagger: moved once, kept once.)
        var grpcServer = typeof(GrpcServiceOptions).Assembly;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var descriptor = services[i];
            if (descriptor is { IsKeyedService: false, ImplementationType: { } type }
                && descriptor.ServiceType == typeof(IServiceMethodProvider<>) && type.Assembly == grpcServer)
            {
                var moved = services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, GrpcDefaultKey) && d.KeyedImplementationType == type);
                if (moved)
                {
                    services.RemoveAt(i);
                }
                else
                {
                    services[i] = ServiceDescriptor.KeyedSingleton(typeof(IServiceMethodProvider<>), GrpcDefaultKey, type);
                }
            }
        }

        var wrapper = ServiceDescriptor.Singleton(typeof(IServiceMethodProvider<>), typeof(UnlessGuardedServiceMethodProvider<>));
        if (!services.Any(d => d.ServiceType == wrapper.ServiceType && d.ImplementationType == wrapper.ImplementationType))
        {
            services.Add(wrapper);
        }

        return services;
    }

    /// <summary>
    /// Fails at start if grpc-dotnet's reflection binder would bind a guarded service as well
    /// (<c>AddGrpc</c> called after <see cref="AddMonkeyCoderMalformedRequestGuard"/>): its routes
    /// would be mapped twice, one of them unguarded; or if it would bind the other services twice.
    /// </summary>
    internal static void EnsureGuarded(IServiceProvider services)
    {
        var grpcServer = typeof(GrpcServiceOptions).Assembly;
        if (services.GetServices<IServiceMethodProvider<RouterApi>>().Any(p => p.GetType().Assembly == grpcServer))
        {
            throw new InvalidOperationException(
                "grpc-dotnet's method provider binds RouterApi next to the malformed-request guard: call AddMonkeyCoderMalformedRequestGuard after the last AddGrpc.");
        }

        // The services left to grpc-dotnet (gRPC health) must be bound once, not once per AddGrpc call.
        if (services.GetKeyedServices<IServiceMethodProvider<RouterApi>>(GrpcDefaultKey).GroupBy(p => p.GetType()).Any(g => g.Count() > 1))
        {
            throw new InvalidOperationException("grpc-dotnet's method providers are registered twice under " + GrpcDefaultKey + ".");
        }
    }

    /// <summary>The service types bound by <see cref="GuardedServiceMethodProvider{TService}"/>.</summary>
    internal sealed class GuardedServices(IReadOnlyCollection<Type> types)
    {
        public IReadOnlyCollection<Type> Types => types;

        public bool Contains(Type type) => types.Contains(type);
    }

    /// <summary>Runs grpc-dotnet's own providers (now keyed) for every service that is not guarded.</summary>
    internal sealed class UnlessGuardedServiceMethodProvider<[DynamicallyAccessedMembers(ServiceAccessibility)] TService>(
        GuardedServices guarded, [FromKeyedServices(GrpcDefaultKey)] IEnumerable<IServiceMethodProvider<TService>> defaults)
        : IServiceMethodProvider<TService> where TService : class
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
        {
            if (guarded.Contains(typeof(TService)))
            {
                return;
            }

            foreach (var provider in defaults)
            {
                provider.OnServiceMethodDiscovery(context);
            }
        }
    }

    /// <summary>What grpc-dotnet keeps of a service type for binding (its own constant, internal there).</summary>
    internal const DynamicallyAccessedMemberTypes ServiceAccessibility =
        DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    /// <summary>
    /// <paramref name="inner"/> with a deserializer that throws INVALID_ARGUMENT MALFORMED_REQUEST
    /// when the payload does not parse. The payload is complete when a deserializer runs (grpc-dotnet
    /// reads the whole message first), so any failure here is the body's fault.
    /// </summary>
    public static Marshaller<T> Guard<T>(Marshaller<T> inner, string method)
    {
        var deserialize = inner.ContextualDeserializer;
        return new Marshaller<T>(inner.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw RpcErrors.MalformedRequest(method, ex.Message);
            }
            catch (Exception ex) when (ex is not RpcException and not OperationCanceledException and not OutOfMemoryException)
            {
                // Invalid UTF-8 in a string field (DecoderFallbackException) and the like.
                throw RpcErrors.MalformedRequest(method, "The message does not parse (" + ex.GetType().Name + ").");
            }
        });
    }
}

/// <summary>
/// Binds one generated service (<paramref name="bindService"/> is its static <c>BindService(ServiceBinderBase, TServiceBase)</c>)
/// with guarded request marshallers (<see cref="MalformedRequestGuard.Guard{T}"/>). No reflection: the
/// binder's typed callbacks give each method, and a call reaches the per-call service instance by
/// binding that instance again and taking the one handler asked for (one delegate per RPC of the
/// service, allocated per call).
/// </summary>
internal sealed class GuardedServiceMethodProvider<[DynamicallyAccessedMembers(MalformedRequestGuard.ServiceAccessibility)] TService>(
    Action<ServiceBinderBase, TService?> bindService) : IServiceMethodProvider<TService> where TService : class
{
    // What grpc-dotnet's binder adds besides the service's attributes (none on these services).
    private static readonly IList<object> Metadata = [new HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context) =>
        bindService(new DiscoveryBinder(context, bindService), null);

    /// <summary>The handler of <paramref name="method"/> on <paramref name="service"/>.</summary>
    internal static THandler HandlerOf<THandler>(Action<ServiceBinderBase, TService?> bindService, IMethod method, TService service)
        where THandler : Delegate
    {
        var pick = new PickBinder(method);
        bindService(pick, service);
        return pick.Handler as THandler ?? throw new InvalidOperationException($"{typeof(TService).Name} binds no handler for {method.FullName}.");
    }

    private static Method<TRequest, TResponse> Guarded<TRequest, TResponse>(Method<TRequest, TResponse> method) =>
        new(method.Type, method.ServiceName, method.Name, MalformedRequestGuard.Guard(method.RequestMarshaller, method.FullName), method.ResponseMarshaller);

    private sealed class DiscoveryBinder(ServiceMethodProviderContext<TService> context, Action<ServiceBinderBase, TService?> bind) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Guarded(method), Metadata,
                (service, request, call) => HandlerOf<UnaryServerMethod<TRequest, TResponse>>(bind, method, service)(request, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(Guarded(method), Metadata,
                (service, request, responses, call) => HandlerOf<ServerStreamingServerMethod<TRequest, TResponse>>(bind, method, service)(request, responses, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(Guarded(method), Metadata,
                (service, requests, call) => HandlerOf<ClientStreamingServerMethod<TRequest, TResponse>>(bind, method, service)(requests, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Guarded(method), Metadata,
                (service, requests, responses, call) => HandlerOf<DuplexStreamingServerMethod<TRequest, TResponse>>(bind, method, service)(requests, responses, call));
    }

    /// <summary>Keeps the handler the generated code binds for one method (matched by the generated static <see cref="Method{TRequest,TResponse}"/>).</summary>
    private sealed class PickBinder(IMethod method) : ServiceBinderBase
    {
        public Delegate? Handler { get; private set; }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> candidate, UnaryServerMethod<TRequest, TResponse>? handler) => Keep(candidate, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> candidate, ServerStreamingServerMethod<TRequest, TResponse>? handler) => Keep(candidate, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> candidate, ClientStreamingServerMethod<TRequest, TResponse>? handler) => Keep(candidate, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> candidate, DuplexStreamingServerMethod<TRequest, TResponse>? handler) => Keep(candidate, handler);

        private void Keep(IMethod candidate, Delegate? handler)
        {
            if (ReferenceEquals(candidate, method))
            {
                Handler = handler;
            }
        }
    }
}
