using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

public sealed class LoggingTests
{
    [Fact]
    public async Task Production_FailedCall_OneJsonLineWithRequestScopeAndNoPrompt()
    {
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string> { ["ENVIRONMENT"] = "production", ["JWT_SECRET_KEY"] = "e2e-production-signing-key-0123456789abcdef", ["SIMULATED_ENABLED"] = "true" });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);
        var principalId = (await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Principal.Id;
        Assert.StartsWith("usr_", principalId, StringComparison.Ordinal);
        var prompt = "confidential-" + Guid.NewGuid().ToString("N");
        var requestId = "req-" + Guid.NewGuid().ToString("N")[..12];

        var ex = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.Chat, Prompt = prompt, Temperature = 5 },
            new Metadata { { "x-request-id", requestId }, { "x-api-key", ServiceFixture.AdminKey } },
            DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        Assert.True(await host.WaitForOutputAsync(l => l.Contains(requestId, StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            string.Join('\n', host.Output));
        var line = host.Output.First(l => l.Contains(requestId, StringComparison.Ordinal));
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal(1500, root.GetProperty("EventId").GetInt32());
        Assert.Equal("INVALID_ARGUMENT", root.GetProperty("State").GetProperty("Outcome").GetString());
        var scope = root.GetProperty("Scopes").EnumerateArray().Single(s => s.TryGetProperty("Rpc", out _));
        Assert.Equal("RouterService/Execute", scope.GetProperty("Rpc").GetString());
        Assert.Equal(requestId, scope.GetProperty("RequestId").GetString());
        Assert.Equal(principalId, scope.GetProperty("PrincipalId").GetString());

        Assert.All(host.Output, l => Assert.DoesNotContain(prompt, l, StringComparison.Ordinal));
        Assert.All(host.Output, l => Assert.DoesNotContain(ServiceFixture.AdminKey, l, StringComparison.Ordinal));
        Assert.All(host.Output, l => Assert.StartsWith("{", l, StringComparison.Ordinal));
    }
}
