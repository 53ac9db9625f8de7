using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

public sealed class SentryTracingTests
{
    [Fact]
    public async Task TracesSampleRateOne_Execute_OneTransactionPerRpcAndNoEvents()
    {
        using var sentry = new LocalHttpReceiver();
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["SENTRY_DSN"] = $"http://publickey@127.0.0.1:{sentry.Port}/1",
            ["SENTRY_TRACES_SAMPLE_RATE"] = "1",
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
        });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var prompt = "trace me " + Guid.NewGuid().ToString("N");
        await new RouterService.RouterServiceClient(channel).ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.Chat, Prompt = prompt, MaxTokens = 8 }, deadline: DateTime.UtcNow.AddSeconds(10));

        static IEnumerable<string> Transactions(IReadOnlyCollection<ReceivedRequest> r) =>
            r.SelectMany(x => x.EnvelopeItems()).Where(i => i.Type == "transaction").Select(i => i.Payload);
        Assert.True(await sentry.WaitForAsync(r => Transactions(r).Any(), TimeSpan.FromSeconds(20)), "no transaction arrived");
        var transaction = Assert.Single(Transactions(sentry.Requests));
        Assert.Contains("\"transaction\":\"RouterService/Execute\"", transaction, StringComparison.Ordinal);
        Assert.Contains("\"op\":\"rpc.server\"", transaction, StringComparison.Ordinal);
        Assert.DoesNotContain(sentry.Requests.SelectMany(r => r.EnvelopeItems()), i => i.Type == "event");
        Assert.All(sentry.Requests, r => Assert.DoesNotContain(prompt, r.Body, StringComparison.Ordinal));
    }
}
