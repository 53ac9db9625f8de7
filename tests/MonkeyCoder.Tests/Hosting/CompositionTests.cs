using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Tests.Hosting;

/// <summary>What <c>AddMonkeyCoder</c> composes from the features' own registrations, and Core's public surface.</summary>
public sealed class CompositionTests
{
    /// <summary>The host entry points; besides these, only options classes are public.</summary>
    private static readonly HashSet<string> HostEntryPoints =
    [
        "MonkeyCoder.Core.Api.MalformedRequestGuard", // AddMonkeyCoderMalformedRequestGuard (the REST host's API docs)
        "MonkeyCoder.Core.Api.RpcErrors", // DetailTypes for JSON transcoding
        "MonkeyCoder.Core.Configuration.ConfigurationErrors",
        "MonkeyCoder.Core.Configuration.EnvironmentVariables", // AddMonkeyCoderEnvironment
        "MonkeyCoder.Core.Edge.DevicePage", // MapMonkeyCoderDevicePage
        "MonkeyCoder.Core.Edge.EdgeServiceExtensions",
        "MonkeyCoder.Core.Edge.SecurityHeadersMiddleware", // DocsPath
        "MonkeyCoder.Core.Hosting.GrpcHealthProbe",
        "MonkeyCoder.Core.Hosting.HttpHealthProbe",
        "MonkeyCoder.Core.Hosting.MonkeyCoderHostingExtensions",
        "MonkeyCoder.Core.Hosting.MonkeyCoderServiceExtensions",
        "MonkeyCoder.Core.Observability.ObservabilityExtensions",
        "MonkeyCoder.Core.Storage.StorageServiceExtensions", // the migrate command
        "MonkeyCoder.Core.Usage.UsageSpillCommand",
    ];

    private static ServiceCollection Compose(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMonkeyCoder(configuration);
        return services;
    }

    [Fact]
    public void CorePublicTypes_AreHostEntryPointsAndOptionsOnly()
    {
        var extra = typeof(MonkeyCoderServiceExtensions).Assembly.GetExportedTypes()
            .Where(t => !HostEntryPoints.Contains(t.FullName!))
            .Where(t => !(t.IsClass && t.IsSealed && !t.IsAbstract && (t.Name.EndsWith("Options", StringComparison.Ordinal) || t.Name.EndsWith("Settings", StringComparison.Ordinal))))
            .Select(t => t.FullName)
            .ToList();

        // A new type is internal unless a host needs it (then add it above, with the reason).
        Assert.Empty(extra);
    }

    [Fact]
    public void AddMonkeyCoder_EachFeatureRegistersItsServicesOnce()
    {
        var services = Compose([]);

        Assert.Single(services, d => d.ServiceType == typeof(TaskExecutor));
        Assert.Single(services, d => d.ServiceType == typeof(IRateLimiter));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(LimitsStartup));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "StorageStartup");
        using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetRequiredService<TaskExecutor>());
        Assert.Equal("embedded", provider.GetRequiredService<IRateLimiter>().Kind);
    }

    [Fact]
    public void AddMonkeyCoder_BadSettingsOfSeveralFeatures_ReportedInFeatureOrder()
    {
        var settings = new Dictionary<string, string?>
        {
            ["MonkeyCoder:Sessions:TtlHours"] = "0",
            ["MonkeyCoder:Cache:TtlSeconds"] = "0",
            ["MonkeyCoder:Usage:BatchSize"] = "0",
            ["MonkeyCoder:AnonymousLimits:PerClientPerMinute"] = "0",
            ["MonkeyCoder:Limits:RequestsPerMinute"] = "0",
            ["MonkeyCoder:Auth:AccessTokenMinutes"] = "0",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = Compose(settings).BuildServiceProvider();

        var ex = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var lines = ConfigurationErrors.Describe(ex, configuration).ToList();

        string[] keys = ["Auth:AccessTokenMinutes", "Limits:RequestsPerMinute", "AnonymousLimits:PerClientPerMinute", "Usage:BatchSize", "Cache:TtlSeconds", "Sessions:TtlHours"];
        var positions = keys.Select(k => lines.FindIndex(l => l.Contains("MonkeyCoder:" + k, StringComparison.Ordinal))).ToList();
        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order(), positions);
    }
}
