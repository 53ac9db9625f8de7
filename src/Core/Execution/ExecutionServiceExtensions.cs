using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Execution.Strategies;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Execution;

/// <summary>Registrations of the execution feature.</summary>
internal static class ExecutionServiceExtensions
{
    /// <summary>
    /// Strategies, the attempt runner, retries and circuit breakers (state in Redis when an
    /// <see cref="IConnectionMultiplexer"/> is registered, else in-process), the engine and the
    /// <see cref="TaskExecutor"/> the edges call.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderExecution(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<ExecutionOptions>, ExecutionOptionsValidator>();
        services.AddOptions<ExecutionOptions>().Bind(configuration.GetSection(ExecutionOptions.Section)).ValidateOnStart();

        services.TryAddSingleton<ICircuitBreakerStore>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisCircuitBreakerStore(redis)
            : new InMemoryCircuitBreakerStore());
        services.AddSingleton<CircuitBreaker>();
        services.AddSingleton<RetryBudget>();
        services.AddSingleton<RetryPolicy>();
        services.AddSingleton<AttemptRecorder>();
        services.AddSingleton<AttemptRunner>();
        services.AddSingleton<Recovery.PrefillSupport>();
        services.AddSingleton<SingleStrategy>();
        services.AddSingleton<IExecutionStrategy>(sp => sp.GetRequiredService<SingleStrategy>());
        services.AddSingleton<IExecutionStrategy, QuantumStrategy>();
        services.AddSingleton<IExecutionStrategy, PipelineStrategy>();
        services.AddSingleton<ExecutionEngine>();
        services.AddSingleton<TaskExecutor>();
        return services;
    }
}
