using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Hosting;

namespace MonkeyCoder.Core.Calls;

/// <summary>Registers the call pipeline, its steps, the test hooks switch and the gRPC adapter.</summary>
internal static class CallServiceExtensions
{
    public static IServiceCollection AddMonkeyCoderCalls(this IServiceCollection services, IConfiguration configuration)
    {
        // The one test-hooks switch; throws at start when asked for in production.
        services.AddSingleton(TestHooks.From(configuration));
        services.AddSingleton<TelemetryStep>();
        services.AddSingleton<DrainStep>();
        services.AddSingleton<ErrorMappingStep>();
        services.AddSingleton<SignInLimitStep>();
        services.AddSingleton<AuthenticationStep>();
        services.AddSingleton<AdmissionStep>();
        services.AddSingleton<SettlementStep>();
        services.AddSingleton<CallPipeline>();
        // The gRPC adapter is the only interceptor: it runs the call pipeline around every RPC.
        services.AddSingleton<GrpcCallInterceptor>();
        services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<GrpcCallInterceptor>());
        return services;
    }
}
