using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// A REST host with the edge configured: one allowed CORS origin, a 64 KiB body limit, a trusted
/// proxy that is not loopback (so this test client's X-Forwarded-Proto is not believed), and a
/// catalog with an extra provider that is never enabled, to exercise fallback chains.
/// </summary>
public sealed class EdgeGatewayFixture : GatewayFixture
{
    public const string AllowedOrigin = "https://app.example.com";
    public const int BodyLimit = 64 * 1024;

    private static readonly string CatalogPath = Path.Combine(Path.GetTempPath(), $"mc-edge-catalog-{Guid.NewGuid():N}.json");

    protected override IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            File.WriteAllText(CatalogPath, """
                {
                  "providers": [
                    { "name": "simulated", "displayName": "Simulated (built-in)", "protocol": "simulated" },
                    { "name": "offline", "displayName": "Never enabled", "protocol": "openai", "apiKeyVariable": "MONKEY_TEST_OFFLINE_KEY" }
                  ],
                  "models": [
                    { "id": "sim-fast", "provider": "simulated", "contextWindow": 128000, "maxOutputTokens": 16384,
                      "inputPricePerMillion": 0.1, "outputPricePerMillion": 0.4,
                      "capabilities": { "codeGeneration": 0.7, "reasoning": 0.6, "reliability": 0.99 }, "fallbacks": ["sim-pro"] },
                    { "id": "sim-pro", "provider": "simulated", "contextWindow": 200000, "maxOutputTokens": 32768,
                      "inputPricePerMillion": 2.0, "outputPricePerMillion": 8.0,
                      "capabilities": { "codeGeneration": 0.9, "reasoning": 0.9, "reliability": 0.99 }, "fallbacks": ["sim-fast"] },
                    { "id": "offline-large", "provider": "offline", "contextWindow": 200000, "maxOutputTokens": 8192,
                      "capabilities": { "codeGeneration": 0.95, "reasoning": 0.95, "reliability": 0.99 }, "fallbacks": ["simulated/sim-pro"] },
                    { "id": "offline-small", "provider": "offline", "contextWindow": 200000, "maxOutputTokens": 8192,
                      "capabilities": { "codeGeneration": 0.5, "reasoning": 0.5, "reliability": 0.99 } }
                  ]
                }
                """);
            return new Dictionary<string, string>
            {
                ["CORS_ALLOWED_ORIGINS"] = AllowedOrigin + ",http://localhost:5173",
                ["CORS_MAX_AGE_SECONDS"] = "900",
                ["MAX_REQUEST_BODY_BYTES"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["TRUSTED_PROXIES"] = "10.9.8.7",
                ["MODEL_CATALOG_PATH"] = CatalogPath,
                ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20",
                ["SIMULATED_TOKENS_PER_SECOND"] = "2000",
            };
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EdgeGatewayCollection : ICollectionFixture<EdgeGatewayFixture>
{
    public const string Name = "edge-gateway";
}
