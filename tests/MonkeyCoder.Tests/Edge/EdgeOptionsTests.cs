using MonkeyCoder.Core.Edge;

namespace MonkeyCoder.Tests.Edge;

public sealed class EdgeOptionsTests
{
    private static IReadOnlyList<string> Failures(EdgeOptions options)
    {
        var failures = new List<string>();
        foreach (var validator in new Microsoft.Extensions.Options.IValidateOptions<EdgeOptions>[] { new EdgeOptionsValidator(), new EdgeOptionsListValidator() })
        {
            var result = validator.Validate(null, options);
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        return failures;
    }

    [Fact]
    public void Validate_Defaults_Pass()
    {
        Assert.Empty(Failures(new EdgeOptions()));
    }

    [Fact]
    public void Validate_GoodLists_PassAndParse()
    {
        var options = new EdgeOptions
        {
            CorsAllowedOrigins = "https://app.example.com, http://localhost:5173/",
            TrustedProxies = "10.0.0.5,::1",
            TrustedNetworks = "10.0.0.0/8",
        };
        Assert.Empty(Failures(options));
        Assert.Equal(["https://app.example.com", "http://localhost:5173"], options.ParseOrigins());
        Assert.Equal(2, options.ParseProxies().Count);
        Assert.Single(options.ParseNetworks());
    }

    [Theory]
    [InlineData("*")]
    [InlineData("app.example.com")]
    [InlineData("https://app.example.com/path")]
    [InlineData("ftp://app.example.com")]
    public void Validate_BadOrigin_FailsNamingTheVariable(string origin)
    {
        var failures = Failures(new EdgeOptions { CorsAllowedOrigins = origin });
        Assert.Contains(failures, f => f.Contains("CORS_ALLOWED_ORIGINS", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadProxyAndNetwork_FailNamingTheVariables()
    {
        var failures = Failures(new EdgeOptions { TrustedProxies = "proxy.local", TrustedNetworks = "10.0.0.0/99" });
        Assert.Contains(failures, f => f.Contains("TRUSTED_PROXIES", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("TRUSTED_NETWORKS", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_TinyBodyLimit_FailsNamingTheVariable()
    {
        var failures = Failures(new EdgeOptions { MaxRequestBodyBytes = 10 });
        Assert.Contains(failures, f => f.Contains("MAX_REQUEST_BODY_BYTES", StringComparison.Ordinal));
    }
}
