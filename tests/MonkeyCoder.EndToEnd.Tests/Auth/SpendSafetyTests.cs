using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>
/// Three Service replicas sharing one PostgreSQL database and one Redis, a webhook for alerts, one
/// attempt per execution (so a call's hold is one attempt's worst case) and a simulated model slow
/// enough (40 tokens/s) that a streamed call holds its budget for a while.
/// </summary>
public sealed class SpendSafetyFixture : IAsyncLifetime
{
    public List<HostProcess> Hosts { get; } = [];

    public List<GrpcChannel> Admin { get; } = [];

    public GrpcChannel Anonymous { get; private set; } = null!;

    /// <summary>The REST host (transcoding, OpenAI-compatible edge) on the same database and Redis.</summary>
    public HostProcess Gateway { get; private set; } = null!;

    public LocalHttpReceiver Webhook { get; } = new();

    private readonly List<GrpcChannel> _channels = [];
    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private (long HoldMicros, long CostMicros)? _probe;

    /// <summary>The replicas' PostgreSQL database (postgresql:// URL).</summary>
    public string DatabaseUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var url = DatabaseUrl = await TestServices.CreateDatabaseAsync();
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = url,
            ["REDIS_URL"] = TestServices.RedisUrl,
            ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
            ["SIMULATED_TOKENS_PER_SECOND"] = "40",
            ["MonkeyCoder__Execution__MaxAttemptsPerExecution"] = "1",
            ["ALERT_WEBHOOK_URL"] = Webhook.Address.ToString(),
        };
        Hosts.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => HostProcess.StartServiceAsync(environment))));
        Gateway = await HostProcess.StartGatewayAsync(environment);
        foreach (var host in Hosts)
        {
            Admin.Add(With(host, ServiceFixture.AdminKey));
        }

        Anonymous = GrpcChannel.ForAddress(Hosts[0].Address);
        _channels.Add(Anonymous);
    }

    public GrpcChannel With(HostProcess host, string credential)
    {
        var channel = ServiceFixture.AuthenticatedChannel(host.Address, credential);
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return channel;
    }

    /// <summary>
    /// One call's hold and its settled cost (micro-USD), measured once with a probe key: the tests
    /// size budgets from them instead of hard-coding prices.
    /// </summary>
    public async Task<(long HoldMicros, long CostMicros)> ProbeAsync()
    {
        await _probeGate.WaitAsync();
        try
        {
            if (_probe is { } known)
            {
                return known;
            }

            var key = await new ApiKeyService.ApiKeyServiceClient(Admin[0]).CreateApiKeyAsync(
                new CreateApiKeyRequest { Name = "probe", Scopes = { "execute" }, MonthlyBudgetUsd = 1 }, deadline: SpendSafetyTests.Deadline);
            var channel = With(Hosts[0], key.Secret);
            var call = new RouterService.RouterServiceClient(channel).ExecuteAsync(SpendSafetyTests.Task("probe"), deadline: SpendSafetyTests.Deadline);
            await call.ResponseAsync;
            var hold = long.Parse(call.GetTrailers().GetValue("x-budget-hold-micros")!, System.Globalization.CultureInfo.InvariantCulture);
            var whoami = await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: SpendSafetyTests.Deadline);
            var cost = (long)Math.Round(whoami.KeyBudget.SpentUsd * 1_000_000);
            Assert.True(cost > 0 && hold >= cost, $"hold {hold} µUSD, cost {cost} µUSD");
            _probe = (hold, cost);
            return _probe.Value;
        }
        finally
        {
            _probeGate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        Webhook.Dispose();
        var errors = Hosts.Append(Gateway).SelectMany(h => h.ErrorLines).ToList();
        foreach (var host in Hosts.Append(Gateway))
        {
            await host.DisposeAsync();
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("A replica logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}

/// <summary>Issue 16, "Limits and budgets that hold": one test per attack, against three real replicas.</summary>
public sealed class SpendSafetyTests(SpendSafetyFixture fixture) : IClassFixture<SpendSafetyFixture>
{
    internal static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    /// <summary>A distinct chat task (no cache, no shared flight) that the simulated model answers at max_tokens, on the cheap model only.</summary>
    internal static ExecuteRequest Task(string tag, int maxTokens = 16) => new()
    {
        TaskType = TaskType.Chat,
        Prompt = $"Write a long, detailed essay about the history of compilers, part {tag}.",
        MaxTokens = maxTokens,
        // Leaves the pricier simulated model out of the plan, so a call's hold is close to its cost.
        MaxCostUsd = 0.00005 * maxTokens / 16,
    };

    private AuthService.AuthServiceClient AuthOf(GrpcChannel channel) => new(channel);

    private async Task<(string UserId, GrpcChannel Session)> SignUpAsync()
    {
        var response = await new AuthService.AuthServiceClient(fixture.Anonymous).SignUpAsync(
            new SignUpRequest { Email = $"spend-{Guid.NewGuid():N}@example.test", Password = "correct horse battery", DisplayName = "Spender" }, deadline: Deadline);
        return (response.Principal.Id, fixture.With(fixture.Hosts[0], response.Tokens.AccessToken));
    }

    private static string? Reason(RpcException ex) => ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;

    [Fact]
    public async Task CreateApiKey_SelfRegisteredUserAsksForMoreThanItHas_RefusedUnlessAnAdminRaisesIt()
    {
        var (userId, session) = await SignUpAsync();
        var keys = new ApiKeyService.ApiKeyServiceClient(session);

        // The reported attack: a key with a 1e12 USD budget. Out of range for anyone, and infinite like NaN/negative.
        var huge = await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "rich", MonthlyBudgetUsd = 1e12 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, huge.StatusCode);
        var infinite = await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "inf", MonthlyBudgetUsd = double.PositiveInfinity }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, infinite.StatusCode);
        Assert.Contains("monthly_budget_usd", infinite.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));

        // Above the configured default rate (600/min): only an admin raises it.
        var faster = await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "fast", RequestsPerMinute = 601 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, faster.StatusCode);
        Assert.Equal("LIMIT_ABOVE_CREATOR", Reason(faster));

        // An admin gives the user a 5 USD budget and 900 requests/min: keys up to that are fine, beyond is refused.
        var users = new UserService.UserServiceClient(fixture.Admin[1]);
        var updated = await users.UpdateUserAsync(new UpdateUserRequest { UserId = userId, MonthlyBudgetUsd = 5, RequestsPerMinute = 900 }, deadline: Deadline);
        Assert.Equal(5, updated.User.MonthlyBudgetUsd);
        var overBudget = await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "more", MonthlyBudgetUsd = 6 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, overBudget.StatusCode);
        Assert.Equal("LIMIT_ABOVE_CREATOR", Reason(overBudget));
        var own = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "own", MonthlyBudgetUsd = 5, RequestsPerMinute = 900 }, deadline: Deadline);

        // That key cannot mint a richer child; a child that sets nothing inherits the parent's values.
        var childKeys = new ApiKeyService.ApiKeyServiceClient(fixture.With(fixture.Hosts[2], own.Secret));
        var richer = await Assert.ThrowsAsync<RpcException>(() => childKeys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "child", MonthlyBudgetUsd = 5.01 }, deadline: Deadline).ResponseAsync);
        Assert.Equal("LIMIT_ABOVE_CREATOR", Reason(richer));
        var child = await childKeys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "child" }, deadline: Deadline);
        Assert.Equal(5, child.ApiKey.MonthlyBudgetUsd);
        Assert.Equal(900, child.ApiKey.RequestsPerMinute);
        Assert.Equal(own.ApiKey.KeyId, child.ApiKey.ParentKeyId);

        // A developer cannot raise its own limits.
        var selfRaise = await Assert.ThrowsAsync<RpcException>(() => new UserService.UserServiceClient(session)
            .UpdateUserAsync(new UpdateUserRequest { UserId = userId, MonthlyBudgetUsd = 1000 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, selfRaise.StatusCode);

        var audit = await AuthOf(fixture.Admin[0]).ListAuditEventsAsync(new ListAuditEventsRequest { Kind = "user.updated", PageSize = 500 }, deadline: Deadline);
        Assert.Contains(audit.Events, e => e.Subject == userId && e.Detail.Contains("monthly_budget_usd 5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateApiKey_ChildAsksToOutliveItsParent_RefusedAndDefaultsToTheParentsExpiry()
    {
        var parent = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "parent", Scopes = { "keys:write", "keys:read", "execute" }, ExpiresIn = Duration.FromTimeSpan(TimeSpan.FromHours(1)) }, deadline: Deadline);
        var keys = new ApiKeyService.ApiKeyServiceClient(fixture.With(fixture.Hosts[1], parent.Secret));

        var longer = await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "forever", ExpiresIn = Duration.FromTimeSpan(TimeSpan.FromDays(365)) }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, longer.StatusCode);
        Assert.Equal("LIMIT_ABOVE_CREATOR", Reason(longer));

        var unset = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "no expiry asked" }, deadline: Deadline);
        // PostgreSQL keeps microseconds; the creation response had the clock's full precision.
        Assert.InRange((parent.ApiKey.ExpireTime.ToDateTimeOffset() - unset.ApiKey.ExpireTime.ToDateTimeOffset()).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        var shorter = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "short", ExpiresIn = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) }, deadline: Deadline);
        Assert.True(shorter.ApiKey.ExpireTime.ToDateTimeOffset() < parent.ApiKey.ExpireTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task RevokeApiKey_LeakedKeyRevoked_KeysItCreatedStopWorkingToo()
    {
        var parent = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "leaked", Scopes = { "keys:write", "models:read" } }, deadline: Deadline);
        var child = await new ApiKeyService.ApiKeyServiceClient(fixture.With(fixture.Hosts[0], parent.Secret))
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "child" }, deadline: Deadline);
        var grandchild = await new ApiKeyService.ApiKeyServiceClient(fixture.With(fixture.Hosts[0], child.Secret))
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "grandchild", Scopes = { "models:read" } }, deadline: Deadline);
        foreach (var secret in new[] { child.Secret, grandchild.Secret })
        {
            await new ModelService.ModelServiceClient(fixture.With(fixture.Hosts[0], secret)).ListModelsAsync(new ListModelsRequest(), deadline: Deadline);
        }

        await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = parent.ApiKey.KeyId }, deadline: Deadline);

        foreach (var secret in new[] { parent.Secret, child.Secret, grandchild.Secret })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new ModelService.ModelServiceClient(fixture.With(fixture.Hosts[0], secret))
                .ListModelsAsync(new ListModelsRequest(), deadline: Deadline).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.Equal("CREDENTIAL_REVOKED", Reason(refused));
        }

        var listed = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).ListApiKeysAsync(new ListApiKeysRequest { IncludeRevoked = true }, deadline: Deadline);
        Assert.NotNull(listed.ApiKeys.Single(k => k.KeyId == grandchild.ApiKey.KeyId).RevokeTime);
        Assert.Equal(child.ApiKey.KeyId, listed.ApiKeys.Single(k => k.KeyId == grandchild.ApiKey.KeyId).ParentKeyId);
    }

    [Fact]
    public async Task Execute_UserSpreadsCallsOverManyKeys_OneUserBudgetStopsThemAll()
    {
        var (hold, cost) = await fixture.ProbeAsync();
        var (userId, session) = await SignUpAsync();
        // Room for a few calls of the user in total, whatever key they come through.
        var budgetMicros = Math.Max(hold + (2 * cost), 4 * cost);
        await new UserService.UserServiceClient(fixture.Admin[2]).UpdateUserAsync(new UpdateUserRequest { UserId = userId, MonthlyBudgetUsd = budgetMicros / 1_000_000d }, deadline: Deadline);
        var keys = new List<GrpcChannel>();
        for (var i = 0; i < 3; i++)
        {
            var key = await new ApiKeyService.ApiKeyServiceClient(session).CreateApiKeyAsync(new CreateApiKeyRequest { Name = "spread " + i, Scopes = { "execute" } }, deadline: Deadline);
            keys.Add(fixture.With(fixture.Hosts[i], key.Secret));
        }

        var (admitted, first) = await SpendUntilRefusedAsync(keys, "spread ", 200);

        Assert.NotNull(first);
        Assert.Equal("BUDGET_EXCEEDED", Reason(first));
        Assert.Equal("user", first.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Metadata["budget_scope"]);
        Assert.NotNull(first.GetRpcStatus()!.GetDetail<RetryInfo>());
        foreach (var (channel, i) in keys.Select((c, i) => (c, i)))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new RouterService.RouterServiceClient(channel).ExecuteAsync(Task("again " + i), deadline: Deadline).ResponseAsync);
            Assert.Equal("BUDGET_EXCEEDED", Reason(refused));
        }

        var whoami = await AuthOf(keys[1]).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        Report.Write("spend-user-budget-keys-admitted", admitted);
        Assert.Equal(budgetMicros / 1_000_000d, whoami.UserBudget.LimitUsd, 6);
        Assert.InRange(whoami.UserBudget.SpentUsd, admitted * cost * 0.5 / 1_000_000d, budgetMicros / 1_000_000d);
        Assert.Equal(0, whoami.UserBudget.OpenReservations);
        Assert.InRange(admitted, 1, (int)(budgetMicros / cost));
    }

    [Fact]
    public async Task Execute_RedisLosesTheMonthsSpend_RebuiltFromPostgresAndTheBudgetStillRefuses()
    {
        var (hold, cost) = await fixture.ProbeAsync();
        var (userId, session) = await SignUpAsync();
        // The user may spend 1 USD; the key a hold and a few calls, so the key's budget is the one that runs out.
        await new UserService.UserServiceClient(fixture.Admin[0]).UpdateUserAsync(new UpdateUserRequest { UserId = userId, MonthlyBudgetUsd = 1 }, deadline: Deadline);
        var budgetMicros = hold + (3 * cost);
        var key = await new ApiKeyService.ApiKeyServiceClient(session).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "flushed", Scopes = { "execute" }, MonthlyBudgetUsd = budgetMicros / 1_000_000d }, deadline: Deadline);
        var channels = fixture.Hosts.Select(h => fixture.With(h, key.Secret)).ToList();

        var (admitted, before) = await SpendUntilRefusedAsync(channels, "flush ", 50);

        Assert.NotNull(before);
        Assert.Equal("BUDGET_EXCEEDED", Reason(before));
        Assert.Equal("key", before.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Metadata["budget_scope"]);
        var spent = await WhoAmIAsync(channels[0]);
        Assert.True(spent.Key > 0 && spent.Key == spent.User, $"key {spent.Key} µUSD, user {spent.User} µUSD");

        // The usage events reach PostgreSQL within the writer's batch window (200 ms); the rebuild reads them from there.
        var stored = await StoredSpendAsync(key.ApiKey.KeyId);
        for (var wait = Stopwatch.StartNew(); stored != spent.Key && wait.Elapsed < TimeSpan.FromSeconds(20); stored = await StoredSpendAsync(key.ApiKey.KeyId))
        {
            await System.Threading.Tasks.Task.Delay(100);
        }

        Assert.Equal(spent.Key, stored);

        // Redis loses this user's data (only this user's keys: the Redis is shared with tests running alongside).
        Assert.True(await ForgetUserAsync(userId) > 0);
        var rebuilt = await WhoAmIAsync(channels[1]);
        Assert.Equal(spent, rebuilt);

        Assert.True(await ForgetUserAsync(userId) > 0);
        var after = await Assert.ThrowsAsync<RpcException>(() => new RouterService.RouterServiceClient(channels[2]).ExecuteAsync(Task("after flush"), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, after.StatusCode);
        Assert.Equal("BUDGET_EXCEEDED", Reason(after));
        Assert.Equal("key", after.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Metadata["budget_scope"]);
        Assert.Equal(spent, await WhoAmIAsync(channels[0]));

        Report.Write("spend-rebuild-budget-micros", budgetMicros);
        Report.Write("spend-rebuild-admitted", admitted);
        Report.Write("spend-rebuild-spent-before-flush-micros", spent.Key);
        Report.Write("spend-rebuild-spent-after-rebuild-micros", rebuilt.Key);
    }

    /// <summary>Executes distinct tasks in turn over <paramref name="channels"/> until one is refused RESOURCE_EXHAUSTED (or <paramref name="most"/> calls).</summary>
    private static async Task<(int Admitted, RpcException? Refused)> SpendUntilRefusedAsync(IReadOnlyList<GrpcChannel> channels, string tag, int most)
    {
        var admitted = 0;
        for (var i = 0; i < most; i++)
        {
            try
            {
                await new RouterService.RouterServiceClient(channels[i % channels.Count]).ExecuteAsync(Task(tag + i), deadline: Deadline);
                admitted++;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                return (admitted, ex);
            }
        }

        return (admitted, null);
    }

    private async Task<(long Key, long User)> WhoAmIAsync(GrpcChannel channel)
    {
        var whoami = await AuthOf(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        return ((long)Math.Round(whoami.KeyBudget.SpentUsd * 1_000_000), (long)Math.Round(whoami.UserBudget.SpentUsd * 1_000_000));
    }

    /// <summary>The key's billed spend as PostgreSQL holds it, in micro-USD.</summary>
    private async Task<long> StoredSpendAsync(string keyId)
    {
        await using var dataSource = TestServices.Open(fixture.DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT coalesce(sum(round((billed_cost_usd * 1000000)::numeric)), 0)::bigint FROM usage_events WHERE api_key_id = $1");
        command.Parameters.AddWithValue(keyId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Deletes every Redis key of <paramref name="userId"/> (they share the hash tag {mc:user}), as a Redis that lost its data; returns how many.</summary>
    internal static async Task<long> ForgetUserAsync(string userId)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.RedisUrl.Replace("redis://", "", StringComparison.Ordinal));
        var server = redis.GetServers()[0];
        var keys = server.Keys(pattern: "{mc:" + userId + "}*").ToArray();
        return await redis.GetDatabase().KeyDeleteAsync(keys);
    }

    [Fact]
    public async Task Execute_200ConcurrentCallsOnThreeReplicasAgainstANearlySpentBudget_OvershootAtMostOneHold()
    {
        var (hold, cost) = await fixture.ProbeAsync();
        // Enough for about 40 calls; 200 arrive at once, spread over the three replicas.
        var budgetMicros = Math.Max(2 * hold, 40 * cost);
        var key = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "nearly spent", Scopes = { "execute" }, MonthlyBudgetUsd = budgetMicros / 1_000_000d }, deadline: Deadline);
        var channels = fixture.Hosts.Select(h => fixture.With(h, key.Secret)).ToList();

        const int Calls = 200;
        var admitted = 0;
        var refused = new ConcurrentBag<TimeSpan>();
        var other = new ConcurrentBag<string>();
        var watch = Stopwatch.StartNew();
        await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, Calls).Select(async i =>
        {
            try
            {
                await new RouterService.RouterServiceClient(channels[i % channels.Count]).ExecuteAsync(Task("burst " + i), deadline: DateTime.UtcNow.AddSeconds(120));
                Interlocked.Increment(ref admitted);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && Reason(ex) == "BUDGET_EXCEEDED" && ex.GetRpcStatus()?.GetDetail<RetryInfo>() is { } retry)
            {
                refused.Add(retry.RetryDelay.ToTimeSpan());
            }
            catch (RpcException ex)
            {
                other.Add(ex.StatusCode + " " + Reason(ex) + ": " + ex.Status.Detail);
            }
        }));
        watch.Stop();

        var budget = (await AuthOf(channels[1]).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).KeyBudget;
        var spentMicros = (long)Math.Round(budget.SpentUsd * 1_000_000);
        Report.Write("spend-burst-budget-micros", budgetMicros);
        Report.Write("spend-burst-hold-micros", hold);
        Report.Write("spend-burst-call-cost-micros", cost);
        Report.Write("spend-burst-admitted", admitted);
        Report.Write("spend-burst-spent-micros", spentMicros);
        Report.Write("spend-burst-overshoot-micros", spentMicros - budgetMicros);
        Report.Write("spend-burst-ms", watch.Elapsed.TotalMilliseconds);
        Assert.Empty(other);
        Assert.Equal(Calls, admitted + refused.Count);
        Assert.True(admitted > 0 && refused.Count > 0, $"admitted {admitted}, refused {refused.Count}");
        Assert.True(spentMicros <= budgetMicros + hold, $"spent {spentMicros} µUSD of {budgetMicros} (hold {hold})");
        // Every admitted call was settled, and settled in full: nothing stays held, nothing is lost.
        Assert.Equal(0, budget.OpenReservations);
        Assert.Equal(0, budget.ReservedUsd);
        Assert.InRange(spentMicros, admitted * cost * 0.5, admitted * (double)hold);
        Assert.All(refused, d => Assert.True(d > TimeSpan.Zero));
    }

    [Fact]
    public async Task WhoAmI_CallInFlight_ShowsItsHoldAndTheRemainingBudget()
    {
        var (hold, _) = await fixture.ProbeAsync();
        var key = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "watch", Scopes = { "execute" }, MonthlyBudgetUsd = 1 }, deadline: Deadline);
        var channel = fixture.With(fixture.Hosts[2], key.Secret);

        // 200 tokens at 40 tokens/s: the hold stays open for seconds after the stream starts.
        using var stream = new RouterService.RouterServiceClient(channel).StreamExecute(Task("long", maxTokens: 200), deadline: Deadline);
        Assert.True(await stream.ResponseStream.MoveNext());
        Assert.NotNull(stream.ResponseStream.Current.Started);
        var during = (await AuthOf(fixture.With(fixture.Hosts[0], key.Secret)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).KeyBudget;
        Assert.Equal(1, during.OpenReservations);
        Assert.True(during.ReservedUsd >= hold / 1_000_000d, $"reserved {during.ReservedUsd}");
        Assert.Equal(1 - during.ReservedUsd, during.RemainingUsd, 6);

        while (await stream.ResponseStream.MoveNext())
        {
        }

        var after = (await AuthOf(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).KeyBudget;
        Assert.Equal(0, after.OpenReservations);
        Assert.True(after.SpentUsd > 0 && after.SpentUsd <= during.ReservedUsd, $"spent {after.SpentUsd}, held {during.ReservedUsd}");
    }

    [Fact]
    public async Task Execute_BudgetCrosses80PercentAndRunsOut_WebhookAlertedOnceEach()
    {
        var (hold, cost) = await fixture.ProbeAsync();
        // 80 % is reachable before holds refuse: the budget is at least five holds.
        var budgetMicros = Math.Max(5 * hold, 6 * cost);
        var key = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "alerting", Scopes = { "execute" }, MonthlyBudgetUsd = budgetMicros / 1_000_000d }, deadline: Deadline);
        var channels = fixture.Hosts.Select(h => fixture.With(h, key.Secret)).ToList();
        var refusals = 0;
        for (var i = 0; i < 300 && refusals < 3; i++)
        {
            try
            {
                await new RouterService.RouterServiceClient(channels[i % channels.Count]).ExecuteAsync(Task("alert " + i), deadline: Deadline);
            }
            catch (RpcException ex) when (Reason(ex) == "BUDGET_EXCEEDED")
            {
                refusals++;
            }
        }

        Assert.Equal(3, refusals);
        bool Mine(ReceivedRequest r, string percent) => r.Body.Contains(key.ApiKey.KeyId, StringComparison.Ordinal) && r.Body.Contains(percent, StringComparison.Ordinal);
        Assert.True(await fixture.Webhook.WaitForAsync(rs => rs.Any(r => Mine(r, "80 %")) && rs.Any(r => Mine(r, "100 %")), TimeSpan.FromSeconds(20)),
            "no 80 % and 100 % alerts for the key: " + string.Join(" | ", fixture.Webhook.Requests.Select(r => r.Body)));
        await System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1, fixture.Webhook.Requests.Count(r => Mine(r, "80 %")));
        Assert.Equal(1, fixture.Webhook.Requests.Count(r => Mine(r, "100 %")));
    }

    [Fact]
    public async Task Execute_KeyRestrictedToOneModelNamesAnother_PermissionDeniedOnGrpcAndTheOpenAiEdge()
    {
        var key = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin[0]).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "fast only", Scopes = { "execute", "route", "keys:write" }, AllowedModels = { "simulated/sim-fast" } }, deadline: Deadline);
        Assert.Equal(["simulated/sim-fast"], key.ApiKey.AllowedModels);
        var channel = fixture.With(fixture.Hosts[1], key.Secret);
        var router = new RouterService.RouterServiceClient(channel);

        // auto: the router considers only the allowed model.
        var plan = await router.RouteAsync(new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "design a distributed cache with sharding", MaxTokens = 64 }, deadline: Deadline);
        Assert.Equal(["sim-fast"], plan.Plan.Candidates.Select(c => c.Model).Distinct());
        var answered = await router.ExecuteAsync(Task("allowed"), deadline: Deadline);
        Assert.Equal("sim-fast", answered.Model);

        // Naming a model outside the list.
        var named = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(new ExecuteRequest
        {
            TaskType = TaskType.Chat, Prompt = "hi", MaxTokens = 8, ModelPreferences = { ["simulated"] = "sim-pro" },
        }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, named.StatusCode);
        Assert.Equal("MODEL_NOT_ALLOWED", Reason(named));
        Assert.Contains("sim-fast", named.Status.Detail, StringComparison.Ordinal);

        // Pinning a model outside the list (ExecuteRequest.model), or naming one as a fallback.
        var pinned = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(new ExecuteRequest
        {
            TaskType = TaskType.Chat, Prompt = "hi", MaxTokens = 8, Model = "simulated/sim-pro",
        }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, pinned.StatusCode);
        Assert.Equal("MODEL_NOT_ALLOWED", Reason(pinned));
        var fallback = await Assert.ThrowsAsync<RpcException>(() => router.RouteAsync(new ExecuteRequest
        {
            TaskType = TaskType.Chat, Prompt = "hi", MaxTokens = 8, Model = "sim-fast", Fallbacks = { "sim-pro" },
        }, deadline: Deadline).ResponseAsync);
        Assert.Equal("MODEL_NOT_ALLOWED", Reason(fallback));
        var allowedPin = await router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "hi", MaxTokens = 8, Model = "simulated/sim-fast" }, deadline: Deadline);
        Assert.Equal("sim-fast", allowedPin.Model);

        // A child key cannot widen the list.
        var wider = await Assert.ThrowsAsync<RpcException>(() => new ApiKeyService.ApiKeyServiceClient(channel).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "wider", AllowedModels = { "simulated" } }, deadline: Deadline).ResponseAsync);
        Assert.Equal("LIMIT_ABOVE_CREATOR", Reason(wider));

        // The OpenAI-compatible edge: the same refusal in OpenAI's error shape, and the allowed model answers.
        using var http = new HttpClient { BaseAddress = fixture.Gateway.Address, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Secret);
        using var refused = await http.PostAsync("/openai/v1/chat/completions", new StringContent(
            """{"model":"simulated/sim-pro","messages":[{"role":"user","content":"hi"}],"max_tokens":8}""", System.Text.Encoding.UTF8, "application/json"));
        var refusedBody = await refused.Content.ReadAsStringAsync();
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("sim-fast", refusedBody, StringComparison.Ordinal);
        Assert.Contains("\"error\"", refusedBody, StringComparison.Ordinal);
        using var ok = await http.PostAsync("/openai/v1/chat/completions", new StringContent(
            """{"model":"auto","messages":[{"role":"user","content":"hello there"}],"max_tokens":8}""", System.Text.Encoding.UTF8, "application/json"));
        var okBody = await ok.Content.ReadAsStringAsync();
        Assert.True(ok.IsSuccessStatusCode, okBody);
        Assert.Contains("sim-fast", okBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateUser_OverRest_AdminSetsBudgetAndDisablesAUserWhoseKeysThenStop()
    {
        var (userId, session) = await SignUpAsync();
        var key = await new ApiKeyService.ApiKeyServiceClient(session).CreateApiKeyAsync(new CreateApiKeyRequest { Name = "soon off", Scopes = { "models:read" } }, deadline: Deadline);

        using var http = new HttpClient { BaseAddress = fixture.Gateway.Address, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
        using var response = await http.PatchAsync($"/v1/users/{userId}", new StringContent(
            """{"monthlyBudgetUsd": 2.5, "disabled": true}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Contains("\"disabled\": true", body.Replace("\"disabled\":true", "\"disabled\": true", StringComparison.Ordinal), StringComparison.Ordinal);

        // A developer's key is refused over REST too.
        using var asUser = new HttpClient { BaseAddress = fixture.Gateway.Address, Timeout = TimeSpan.FromSeconds(60) };
        asUser.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Secret);
        using var denied = await asUser.PatchAsync($"/v1/users/{userId}", new StringContent("""{"disabled": false}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(denied.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized, denied.StatusCode.ToString());

        // A replica that never cached the key refuses it at once; the user cannot sign in again.
        var refused = await Assert.ThrowsAsync<RpcException>(() => new ModelService.ModelServiceClient(fixture.With(fixture.Hosts[2], key.Secret))
            .ListModelsAsync(new ListModelsRequest(), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal("USER_DISABLED", Reason(refused));
        var users = await new UserService.UserServiceClient(fixture.Admin[0]).ListUsersAsync(new ListUsersRequest { PageSize = 500 }, deadline: Deadline);
        var user = users.Users.Single(u => u.UserId == userId);
        Assert.True(user.Disabled);
        Assert.Equal(2.5, user.MonthlyBudgetUsd);
    }

    [Fact]
    public async Task CliUsers_AdminRaisesAUsersBudget_ListShowsIt()
    {
        var (userId, _) = await SignUpAsync();
        using var home = new Cli.CliProcess.Home();
        var admin = new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = ServiceFixture.AdminKey };

        var update = await Cli.CliProcess.RunAsync(home, fixture.Hosts[1].Address, ["users", "update", userId, "--monthly-budget", "3", "--requests-per-minute", "100"], environment: admin);
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Contains("budget 3 USD/month", update.Stderr, StringComparison.Ordinal);

        var list = await Cli.CliProcess.RunAsync(home, fixture.Hosts[2].Address, ["users", "list", "--json"], environment: admin);
        Assert.True(list.ExitCode == 0, list.ToString());
        var user = list.StdoutLines().Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).Single(u => u.GetProperty("user_id").GetString() == userId);
        Assert.Equal(3, user.GetProperty("monthly_budget_usd").GetDouble());
        Assert.Equal(100, user.GetProperty("requests_per_minute").GetInt32());

        var bad = await Cli.CliProcess.RunAsync(home, fixture.Hosts[0].Address, ["users", "update", userId, "--monthly-budget", "-1"], environment: admin);
        Assert.NotEqual(0, bad.ExitCode);
    }
}
