using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using StackExchange.Redis;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>
/// A Service on real PostgreSQL and Redis (database 5) whose only model is a simulated one with a
/// small context window, so a few session turns outgrow it. Sessions live <see cref="TtlHours"/>.
/// </summary>
public sealed class SmallWindowFixture() : StorageFixture(RedisDatabase)
{
    public const int RedisDatabase = 5;
    public const int ContextWindow = 700;
    public const string Model = "sim-small";
    public const int TtlHours = 2;

    private readonly string _catalogPath = Path.Combine(Path.GetTempPath(), $"monkey-small-window-catalog-{Guid.NewGuid():N}.json");

    protected override IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(base.Environment)
    {
        ["MODEL_CATALOG_PATH"] = _catalogPath,
        ["JWT_SECRET_KEY"] = Auth.SecuredServiceFixture.JwtSecret,
        ["SESSION_TTL_HOURS"] = TtlHours.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public override async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_catalogPath, $$"""
            {
              "providers": [ { "name": "simulated", "displayName": "Simulated (built-in)", "protocol": "simulated" } ],
              "models": [
                { "id": "{{Model}}", "provider": "simulated", "contextWindow": {{ContextWindow}}, "maxOutputTokens": 256,
                  "inputPricePerMillion": 0.1, "outputPricePerMillion": 0.4,
                  "capabilities": { "codeGeneration": 0.7, "reasoning": 0.6, "reliability": 0.99 } }
              ]
            }
            """);
        await base.InitializeAsync();
    }

    /// <summary>A channel for a newly signed-up developer (a principal other than the admin).</summary>
    public async Task<GrpcChannel> SignUpDeveloperAsync()
    {
        using var anonymous = GrpcChannel.ForAddress(Host.Address);
        var response = await new AuthService.AuthServiceClient(anonymous).SignUpAsync(new SignUpRequest
        {
            Email = $"dev-{Guid.NewGuid():N}@example.test",
            Password = "correct horse battery",
            DisplayName = "Dev",
        });
        return AuthenticatedChannel(Host.Address, response.Tokens.AccessToken);
    }

    /// <summary>A connection to this Service's Redis database.</summary>
    public static Task<ConnectionMultiplexer> RedisAsync() =>
        ConnectionMultiplexer.ConnectAsync(TestServers.RedisUrl.Replace("redis://", "", StringComparison.Ordinal) + $",defaultDatabase={RedisDatabase},allowAdmin=true");
}

/// <summary>Sessions end to end through Redis: trimming to the model's window, owner isolation, TTL.</summary>
public sealed class SessionWindowTests(SmallWindowFixture fixture) : IClassFixture<SmallWindowFixture>
{
    private const int MaxTokens = 60;

    private SessionService.SessionServiceClient Sessions => new(fixture.Channel);

    private static string NewSessionId() => "s-" + Guid.NewGuid().ToString("N")[..12];

    private static ExecuteRequest Turn(string sessionId, int i) => new()
    {
        TaskType = TaskType.Chat,
        Prompt = $"Turn {i} {Guid.NewGuid():N}: explain how a lock-free queue handles the ABA problem, with the memory orderings involved.",
        MaxTokens = MaxTokens,
        SessionId = sessionId,
    };

    [Fact]
    public async Task Execute_SessionHistoryOutgrowsWindow_HistoryTrimmedAndCallsStillSucceed()
    {
        var id = NewSessionId();
        const int turns = 12;
        var responses = new List<ExecuteResponse>();
        for (var i = 0; i < turns; i++)
        {
            var response = await fixture.Router.ExecuteAsync(Turn(id, i));
            Assert.Equal(SmallWindowFixture.Model, response.Model);
            Assert.NotEmpty(response.Content);
            // What reached the model (the simulated provider counts the messages it received) left room for the answer.
            Assert.True(response.Usage.InputTokens + MaxTokens <= SmallWindowFixture.ContextWindow,
                $"turn {i}: {response.Usage.InputTokens} input tokens + {MaxTokens} do not fit the {SmallWindowFixture.ContextWindow}-token window");
            responses.Add(response);
        }

        // Redis keeps the whole conversation (only MaxTurns bounds it), and it no longer fits the window...
        var session = await Sessions.GetSessionAsync(new GetSessionRequest { SessionId = id });
        Assert.Equal(2 * turns, session.Turns.Count);
        var tokens = new TokenCounter();
        var stored = session.Turns.Sum(t => tokens.Count(t.Content) + 4);
        Assert.True(stored > SmallWindowFixture.ContextWindow, $"the stored history ({stored} tokens) never outgrew the window");

        // ...so the later calls carried part of it: more than the first call's bare prompt, less than all of it.
        Assert.True(responses[1].Usage.InputTokens > responses[0].Usage.InputTokens, "history not sent");
        Assert.True(responses[^1].Usage.InputTokens > responses[0].Usage.InputTokens, "all history dropped instead of trimmed");
        Assert.True(responses[^1].Usage.InputTokens < stored, "the whole history was sent");
    }

    [Fact]
    public async Task GetSession_AnotherPrincipal_NotFoundAndHistoryNotShared()
    {
        var id = NewSessionId();
        var opening = Turn(id, 0);
        var first = await fixture.Router.ExecuteAsync(opening);
        await fixture.Router.ExecuteAsync(Turn(id, 1));

        using var bobChannel = await fixture.SignUpDeveloperAsync();
        var bob = new SessionService.SessionServiceClient(bobChannel);
        var get = await Assert.ThrowsAsync<RpcException>(() => bob.GetSessionAsync(new GetSessionRequest { SessionId = id }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, get.StatusCode);
        var export = await Assert.ThrowsAsync<RpcException>(() => bob.ExportSessionAsync(new ExportSessionRequest { SessionId = id }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, export.StatusCode);
        Assert.DoesNotContain((await bob.ListSessionsAsync(new ListSessionsRequest())).Sessions, s => s.SessionId == id);
        Assert.False((await bob.DeleteSessionAsync(new DeleteSessionRequest { SessionId = id })).Deleted);

        // Bob using the same id starts a conversation of his own: none of the admin's turns are sent
        // (the same opening prompt, uncached, costs him exactly what it cost the admin).
        var bobTurn = opening.Clone();
        bobTurn.Cache = new CacheOptions { Bypass = true };
        var bobs = await new RouterService.RouterServiceClient(bobChannel).ExecuteAsync(bobTurn);
        Assert.Equal(first.Usage.InputTokens, bobs.Usage.InputTokens);
        Assert.Equal(2, (await bob.GetSessionAsync(new GetSessionRequest { SessionId = id })).Turns.Count);

        // The admin's session is untouched.
        Assert.Equal(4, (await Sessions.GetSessionAsync(new GetSessionRequest { SessionId = id })).Turns.Count);
    }

    [Fact]
    public async Task Execute_SessionTurn_StoredWithConfiguredTtlAndGoneOnceExpired()
    {
        var id = NewSessionId();
        await fixture.Router.ExecuteAsync(Turn(id, 0));

        await using var redis = await SmallWindowFixture.RedisAsync();
        var server = redis.GetServers()[0];
        var key = Assert.Single(server.Keys(SmallWindowFixture.RedisDatabase, $"mc:session:*:{id}"));
        var db = redis.GetDatabase();
        var ttl = await db.KeyTimeToLiveAsync(key);
        var configured = TimeSpan.FromHours(SmallWindowFixture.TtlHours);
        Assert.True(ttl is { } t && t <= configured && t > configured - TimeSpan.FromMinutes(1), $"session TTL {ttl}, expected about {configured}");

        // SESSION_TTL_HOURS is whole hours, so expiry is brought forward in Redis rather than waited for.
        Assert.True(await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(200)));
        await Task.Delay(500);
        var gone = await Assert.ThrowsAsync<RpcException>(() => Sessions.GetSessionAsync(new GetSessionRequest { SessionId = id }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.DoesNotContain((await Sessions.ListSessionsAsync(new ListSessionsRequest())).Sessions, s => s.SessionId == id);

        // The next turn with that id starts afresh.
        await fixture.Router.ExecuteAsync(Turn(id, 1));
        Assert.Equal(2, (await Sessions.GetSessionAsync(new GetSessionRequest { SessionId = id })).Turns.Count);
    }
}
