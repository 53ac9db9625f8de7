using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

/// <summary>
/// The Service (the AOT binary under the test command) with SENTRY_DSN pointing at a local HTTP
/// server that decodes the envelopes, and the test-only fault hook switched on.
/// </summary>
public sealed class SentryTests : IAsyncLifetime
{
    private const string FaultMarker = "[[monkeycoder-test-fault:internal]]";
    private readonly LocalHttpReceiver _sentry = new();
    private HostProcess _host = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["SENTRY_DSN"] = $"http://publickey@127.0.0.1:{_sentry.Port}/1",
            ["MonkeyCoder__Diagnostics__EnableTestHooks"] = "true",
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
        });
        _channel = ServiceFixture.AuthenticatedChannel(_host.Address, ServiceFixture.AdminKey);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        var errors = _host.ErrorLines.ToList();
        await _host.DisposeAsync();
        _sentry.Dispose();
        // The forced fault is logged as an error on purpose; nothing else may be.
        Assert.All(errors, line => Assert.Contains("ErrorMappingStep[1100]", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForcedInternalError_ExactlyOneScrubbedSentryEvent()
    {
        var router = new RouterService.RouterServiceClient(_channel);
        var secretPrompt = "Refactor the billing module for customer " + Guid.NewGuid().ToString("N");
        var secretFile = "DATABASE_PASSWORD=" + Guid.NewGuid().ToString("N");
        // The real admin key (mk_<prefix>_<secret>): the fault hook puts this x-api-key into the
        // exception message, so only the scrubber stands between it and Sentry.
        var callerKey = ServiceFixture.AdminKey;
        var headers = new Metadata { { "x-api-key", callerKey } };

        // Expected failures and successes are not Sentry events.
        var invalid = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = " " }, headers, DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        await router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "hello", MaxTokens = 8 }, headers, DateTime.UtcNow.AddSeconds(10));

        var request = new ExecuteRequest { TaskType = TaskType.Refactoring, Prompt = $"{secretPrompt} {FaultMarker}", MaxTokens = 16 };
        request.Files.Add(new SourceFile { Path = "config/.env", Content = secretFile });
        var ex = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(request, headers, DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.Equal(StatusCode.Internal, ex.StatusCode);

        static int Events(IReadOnlyCollection<ReceivedRequest> r) => r.Sum(x => x.EnvelopeItems().Count(i => i.Type == "event"));
        Assert.True(await _sentry.WaitForAsync(r => Events(r) >= 1, TimeSpan.FromSeconds(20)), "no Sentry event arrived");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second (duplicate) event would arrive within this
        Assert.Equal(1, Events(_sentry.Requests));

        var envelope = _sentry.Requests.Single(r => r.EnvelopeItems().Any(i => i.Type == "event"));
        Assert.Equal("/api/1/envelope/", envelope.Path);
        var evt = envelope.EnvelopeItems().Single(i => i.Type == "event").Payload;
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "monkeycoder-sentry-event.json"), evt);
        Assert.Contains("InjectedFaultException", evt, StringComparison.Ordinal);
        Assert.Contains("\"rpc\":\"RouterService/Execute\"", evt, StringComparison.Ordinal);
        Assert.Contains("\"environment\":\"test\"", evt, StringComparison.Ordinal);
        // One kind of failure is one Sentry issue: grouped by RPC, exception type and provider, not by message.
        using (var parsed = System.Text.Json.JsonDocument.Parse(evt))
        {
            var root = parsed.RootElement;
            Assert.Equal(["internal", "RouterService/Execute"], root.GetProperty("fingerprint").EnumerateArray().Take(2).Select(f => f.GetString()!));
            Assert.Contains("InjectedFaultException", root.GetProperty("fingerprint")[2].GetString(), StringComparison.Ordinal);
            var tags = root.GetProperty("tags");
            Assert.Contains("InjectedFaultException", tags.GetProperty("error_class").GetString(), StringComparison.Ordinal);
            Assert.Equal(12, tags.GetProperty("error_event_id").GetString()!.Length);
            Assert.False(string.IsNullOrEmpty(tags.GetProperty("request_id").GetString()));
            Assert.False(string.IsNullOrEmpty(root.GetProperty("release").GetString()));
        }

        Assert.Contains("[scrubbed]", evt, StringComparison.Ordinal);
        // The key was in the message (so the check below is not vacuous) and was replaced.
        Assert.Contains("for caller key [scrubbed]", evt, StringComparison.Ordinal);
        // The host's own error log line carries the same exception, scrubbed the same way.
        var log = string.Join('\n', _host.Output);
        Assert.Contains("InjectedFaultException", log, StringComparison.Ordinal);
        Assert.Contains("for caller key [scrubbed]", log, StringComparison.Ordinal);
        foreach (var secret in new[] { secretPrompt, secretPrompt[..32], secretFile, callerKey, "sk-injected-fault-0123456789abcdef" })
        {
            Assert.DoesNotContain(secret, envelope.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }
    }
}
