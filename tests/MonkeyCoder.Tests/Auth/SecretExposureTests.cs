using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Tests.Auth;

/// <summary>Secrets that must not leave the process, and answers one user must not learn from another's (issue 16).</summary>
public sealed class SecretExposureTests
{
    [Theory]
    [InlineData("redis connect failed: redis://:hunter2secret@cache.internal:6379", "hunter2secret")]
    [InlineData("Server=db;Port=5432;User Id=app;Pwd=hunter2secret;Database=mc", "hunter2secret")]
    [InlineData("GET https://llm.example/v1?key=hunter2secret&x=1 failed", "hunter2secret")]
    [InlineData("client_secret=hunter2secret", "hunter2secret")]
    [InlineData("postgresql://app:hunter2secret@db:5432/mc", "hunter2secret")]
    public void Scrubber_SecretShapes_Removed(string text, string secret)
    {
        var scrubbed = SentryScrubber.Text(text, null);
        Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains(SentryScrubber.Replacement, scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void ProviderBaseUrl_CredentialsInUserInfoOrQuery_NeverInPublicForm()
    {
        var url = new Uri("https://user:pw123456@llm.example/v1/?api-key=hunter2secret&sig=abc#frag");
        var shown = ProviderClientSettings.Redact(url).ToString();
        Assert.DoesNotContain("hunter2secret", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("pw123456", shown, StringComparison.Ordinal);
        Assert.Equal("https://llm.example/v1/", shown);
        Assert.Equal("", ProviderClientSettings.Redact("not a url"));
    }

    [Fact]
    public void CacheKey_SameRequestTwoUsers_DifferentKeysUnlessShared()
    {
        var task = new TaskRequest { TaskType = MonkeyCoder.V1.TaskType.Chat, Prompt = "the same prompt" };
        Assert.NotEqual(CacheKey.For(task, "usr_alice"), CacheKey.For(task, "usr_mallory"));
        Assert.Equal(CacheKey.For(task, "usr_alice"), CacheKey.For(task, "usr_alice"));
        Assert.Equal(CacheKey.For(task), CacheKey.For(task, null));
    }
}
