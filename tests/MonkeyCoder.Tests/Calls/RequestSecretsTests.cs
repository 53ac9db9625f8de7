using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Calls;

public sealed class RequestSecretsTests
{
    [Fact]
    public void Of_ExecuteRequest_PromptFilesAndCustomInstructions()
    {
        var request = new ExecuteRequest { Prompt = "the prompt", CustomInstructions = "answer as a pirate", TaskId = "task-1", SessionId = "ses_1" };
        request.Files.Add(new SourceFile { Path = "a.cs", Content = "class A {}" });

        var values = RequestSecrets.Of(request);

        Assert.Equal(["the prompt", "answer as a pirate", "class A {}"], values);
    }

    public static TheoryData<object, string> AuthAndFreeTextRequests => new()
    {
        { new LoginRequest { Email = "dev@example.com", Password = "correct horse battery" }, "correct horse battery" },
        { new LoginRequest { Email = "dev@example.com", Password = "correct horse battery" }, "dev@example.com" },
        { new SignUpRequest { Email = "new@example.com", Password = "hunter2hunter2", DisplayName = "Ada L" }, "hunter2hunter2" },
        { new SignUpRequest { Email = "new@example.com", Password = "hunter2hunter2", DisplayName = "Ada L" }, "Ada L" },
        { new RefreshRequest { RefreshToken = "rt_refresh-token-value" }, "rt_refresh-token-value" },
        { new LogoutRequest { RefreshToken = "rt_logout-token-value" }, "rt_logout-token-value" },
        { new PollDeviceAuthorizationRequest { DeviceCode = "device-code-value" }, "device-code-value" },
        { new ApproveDeviceAuthorizationRequest { UserCode = "BCDF-GHJK" }, "BCDF-GHJK" },
        { new StartDeviceAuthorizationRequest { ClientName = "laptop of Ada" }, "laptop of Ada" },
        { new CreateApiKeyRequest { Name = "ci key for acme" }, "ci key for acme" },
        { new FeedbackRequest { ExecutionId = "exe_1", Rating = 5, Comment = "great, but mentions our secret project" }, "great, but mentions our secret project" },
    };

    [Theory]
    [MemberData(nameof(AuthAndFreeTextRequests))]
    public void Of_SecretOrFreeTextField_Listed(object request, string secret)
    {
        Assert.Contains(secret, RequestSecrets.Of(request));
    }

    [Fact]
    public void Of_RequestWithoutFreeText_Empty()
    {
        Assert.Empty(RequestSecrets.Of(new RevokeApiKeyRequest { KeyId = "key_1" }));
    }

    [Fact]
    public void Scrub_PasswordInExceptionOfLoginRequest_Removed()
    {
        var request = new LoginRequest { Email = "dev@example.com", Password = "plain words no shape" };
        var scrubbed = SentryScrubber.Text("login failed for dev@example.com with 'plain words no shape'", RequestSecrets.Of(request));

        Assert.DoesNotContain("plain words no shape", scrubbed, StringComparison.Ordinal);
        Assert.DoesNotContain("dev@example.com", scrubbed, StringComparison.Ordinal);
    }
}
