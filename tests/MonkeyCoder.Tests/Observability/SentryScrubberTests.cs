using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Observability;
using Sentry;
using Sentry.Protocol;

namespace MonkeyCoder.Tests.Observability;

public sealed class SentryScrubberTests
{
    [Theory]
    [InlineData("call failed: Authorization: Bearer abc.def-123", "abc.def-123")]
    [InlineData("openai key sk-proj-0123456789abcdefXYZ rejected", "sk-proj-0123456789abcdefXYZ")]
    [InlineData("key mk_abcdefghij_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG revoked", "mk_abcdefghij_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")]
    [InlineData("key mk-0123456789abcdef0123 revoked", "mk-0123456789abcdef0123")]
    [InlineData("stripe sk_live_0123456789abcdefXYZ rejected", "sk_live_0123456789abcdefXYZ")]
    [InlineData("anthropic sk-ant-api03-0123456789abcdef failed", "sk-ant-api03-0123456789abcdef")]
    [InlineData("refresh rt_0123456789abcdef-_ABCDEFGHIJKLMNOPQRSTUVWXYZab expired", "rt_0123456789abcdef-_ABCDEFGHIJKLMNOPQRSTUVWXYZab")]
    [InlineData("xai key xai-0123456789abcdefghij", "xai-0123456789abcdefghij")]
    [InlineData("groq gsk_0123456789abcdefghij", "gsk_0123456789abcdefghij")]
    [InlineData("clone with ghp_0123456789abcdefghijABCDEFGHIJ failed", "ghp_0123456789abcdefghijABCDEFGHIJ")]
    [InlineData("google AIzaSyA0123456789abcdefghijklmnopq", "AIzaSyA0123456789abcdefghijklmnopq")]
    [InlineData("bad jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")]
    [InlineData("config api_key=hunter2hunter2 loaded", "hunter2hunter2")]
    [InlineData("connect postgres://app:s3cretpw@db:5432/x failed", "s3cretpw")]
    public void Text_SecretShapedValues_Removed(string message, string secret)
    {
        var scrubbed = SentryScrubber.Text(message, null);
        Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains(SentryScrubber.Replacement, scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_IssuedApiKeyInMessage_KeyAndSecretPartRemoved()
    {
        // The shape Secrets.NewApiKey issues: mk_<10 lower-case alphanumerics>_<43 base64url characters>.
        for (var i = 0; i < 50; i++)
        {
            var key = Secrets.NewApiKey();
            var scrubbed = SentryScrubber.Text($"lookup failed for key {key}, retrying ('{key}')", null);
            Assert.DoesNotContain(key, scrubbed, StringComparison.Ordinal);
            Assert.DoesNotContain(key[Secrets.ApiKeyLookupLength..], scrubbed, StringComparison.Ordinal);
            Assert.Equal($"lookup failed for key {SentryScrubber.Replacement}, retrying ('{SentryScrubber.Replacement}')", scrubbed);
        }
    }

    [Fact]
    public void Text_OrdinaryIdentifiers_Kept()
    {
        const string message = "task_type=CODE_GENERATION desk_id mark_down start_time key_id=key_0193 missing";
        Assert.Equal(message, SentryScrubber.Text(message, null));
    }

    [Fact]
    public void Scrub_ExceptionWithPromptAndFile_ValuesReplacedRequestAndUserCleared()
    {
        var prompt = "Write the payroll export for ACME Corp including salaries of every employee";
        var file = "SECRET_FILE_CONTENT_1234";
        var evt = new SentryEvent(new InvalidOperationException($"failed on '{prompt[..40]}' with file {file}"))
        {
            Request = new SentryRequest { Data = prompt, Cookies = "session=abc" },
            User = new SentryUser { Email = "dev@example.com", IpAddress = "10.0.0.1" },
        };
        evt.Request.Headers["Authorization"] = "Bearer sk-live-abcdefghijkl";
        evt.SentryExceptions = [new SentryException { Type = "System.InvalidOperationException", Value = $"failed on '{prompt[..40]}' with file {file}" }];

        var result = SentryScrubber.Scrub(evt, [prompt, file]);

        var value = Assert.Single(result.SentryExceptions!).Value!;
        Assert.DoesNotContain(prompt[..32], value, StringComparison.Ordinal);
        Assert.DoesNotContain(file, value, StringComparison.Ordinal);
        Assert.Null(result.Request.Data);
        Assert.Null(result.Request.Cookies);
        Assert.Empty(result.Request.Headers);
        Assert.Null(result.User.Email);
        Assert.Null(result.User.IpAddress);
    }

    [Fact]
    public void ForLog_ExceptionQuotingSecrets_TypeAndStackKeptMessagesScrubbed()
    {
        const string prompt = "refactor the payroll module for ACME Corp";
        var key = MonkeyCoder.Core.Auth.Secrets.NewApiKey();
        Exception thrown;
        try
        {
            try
            {
                throw new IOException($"connection string Password=hunter22; for {key}");
            }
            catch (IOException inner)
            {
                throw new InvalidOperationException($"failed on '{prompt}'", inner);
            }
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        var logged = SentryScrubber.ForLog(thrown, [prompt]).ToString();

        Assert.Contains("System.InvalidOperationException", logged, StringComparison.Ordinal);
        Assert.Contains("System.IO.IOException", logged, StringComparison.Ordinal);
        Assert.Contains(nameof(ForLog_ExceptionQuotingSecrets_TypeAndStackKeptMessagesScrubbed), logged, StringComparison.Ordinal);
        Assert.DoesNotContain(prompt, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(key, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter22", logged, StringComparison.Ordinal);
    }
}
