using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace MonkeyCoder.Core.Hosting;

internal static class ShutdownDrainExtensions
{
    /// <summary>Registers the drain runner (idempotent). Called once from AddMonkeyCoder.</summary>
    public static IServiceCollection AddMonkeyCoderShutdown(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ShutdownDrainService>());
        return services;
    }

    /// <summary>Adds a drain hook; <typeparamref name="TDrain"/> is resolved as a singleton.</summary>
    public static IServiceCollection AddShutdownDrain<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TDrain>(this IServiceCollection services)
        where TDrain : class, IShutdownDrain
    {
        services.TryAddSingleton<TDrain>();
        services.AddSingleton<IShutdownDrain>(sp => sp.GetRequiredService<TDrain>());
        return services.AddMonkeyCoderShutdown();
    }
}
