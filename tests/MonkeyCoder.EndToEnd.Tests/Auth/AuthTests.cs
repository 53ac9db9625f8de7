using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>Identity and API keys against a real Service on PostgreSQL and Redis.</summary>
public sealed class AuthTests(SecuredServiceFixture fixture) : IClassFixture<SecuredServiceFixture>
{
    private static readonly ExecuteRequest Ping = new() { TaskType = TaskType.Chat, Prompt = "ping", MaxTokens = 4 };

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(20);

    [Fact]
    public async Task Execute_NoCredential_Unauthenticated()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => new RouterService.RouterServiceClient(fixture.Anonymous).ExecuteAsync(Ping, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Equal("CREDENTIAL_MISSING", Reason(ex));
    }

    [Fact]
    public async Task Health_NoCredential_Serves()
    {
        var response = await new Health.HealthClient(fixture.Anonymous).CheckAsync(new HealthCheckRequest(), deadline: Deadline);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    /// <summary>Every protected RPC, called through a channel.</summary>
    private static IEnumerable<(string Name, string Scope, Func<GrpcChannel, Task> Call)> ProtectedRpcs()
    {
        yield return ("Execute", "execute", c => new RouterService.RouterServiceClient(c).ExecuteAsync(Ping, deadline: Deadline).ResponseAsync);
        yield return ("StreamExecute", "execute", async c =>
        {
            using var call = new RouterService.RouterServiceClient(c).StreamExecute(Ping, deadline: Deadline);
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        yield return ("Route", "route", c => new RouterService.RouterServiceClient(c).RouteAsync(Ping, deadline: Deadline).ResponseAsync);
        yield return ("ListProviders", "models:read", c => new ModelService.ModelServiceClient(c).ListProvidersAsync(new ListProvidersRequest(), deadline: Deadline).ResponseAsync);
        yield return ("ListModels", "models:read", c => new ModelService.ModelServiceClient(c).ListModelsAsync(new ListModelsRequest(), deadline: Deadline).ResponseAsync);
        yield return ("CreateApiKey", "keys:write", c => new ApiKeyService.ApiKeyServiceClient(c).CreateApiKeyAsync(new CreateApiKeyRequest { Name = "x" }, deadline: Deadline).ResponseAsync);
        yield return ("ListApiKeys", "keys:read", c => new ApiKeyService.ApiKeyServiceClient(c).ListApiKeysAsync(new ListApiKeysRequest(), deadline: Deadline).ResponseAsync);
        yield return ("RevokeApiKey", "keys:write", c => new ApiKeyService.ApiKeyServiceClient(c).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "key_missing" }, deadline: Deadline).ResponseAsync);
        yield return ("WhoAmI", "", c => new AuthService.AuthServiceClient(c).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline).ResponseAsync);
        yield return ("ApproveDeviceAuthorization", "", c => new AuthService.AuthServiceClient(c).ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = "BCDF-GHJK" }, deadline: Deadline).ResponseAsync);
        yield return ("ListAuditEvents", "admin", c => new AuthService.AuthServiceClient(c).ListAuditEventsAsync(new ListAuditEventsRequest(), deadline: Deadline).ResponseAsync);
        yield return ("Feedback", "execute", c => new RouterService.RouterServiceClient(c).FeedbackAsync(new FeedbackRequest { ExecutionId = "exec_missing", Rating = 5 }, deadline: Deadline).ResponseAsync);
        yield return ("GetUsage", "usage:read", c => new UsageService.UsageServiceClient(c).GetUsageAsync(new GetUsageRequest(), deadline: Deadline).ResponseAsync);
        yield return ("ListExecutions", "usage:read", c => new UsageService.UsageServiceClient(c).ListExecutionsAsync(new ListExecutionsRequest(), deadline: Deadline).ResponseAsync);
        yield return ("ListSessions", "sessions", c => new SessionService.SessionServiceClient(c).ListSessionsAsync(new ListSessionsRequest(), deadline: Deadline).ResponseAsync);
        yield return ("GetSession", "sessions", c => new SessionService.SessionServiceClient(c).GetSessionAsync(new GetSessionRequest { SessionId = "ses_missing" }, deadline: Deadline).ResponseAsync);
        yield return ("ExportSession", "sessions", c => new SessionService.SessionServiceClient(c).ExportSessionAsync(new ExportSessionRequest { SessionId = "ses_missing" }, deadline: Deadline).ResponseAsync);
        yield return ("DeleteSession", "sessions", c => new SessionService.SessionServiceClient(c).DeleteSessionAsync(new DeleteSessionRequest { SessionId = "ses_missing" }, deadline: Deadline).ResponseAsync);
    }

    [Fact]
    public async Task EveryRpc_MissingMalformedExpiredRevokedOrWrongScopeCredential_Refused()
    {
        var keys = new ApiKeyService.ApiKeyServiceClient(fixture.Admin);
        var revoked = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "to revoke" }, deadline: Deadline);
        await keys.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = revoked.ApiKey.KeyId }, deadline: Deadline);
        var expiredKey = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "short-lived", ExpiresIn = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) }, deadline: Deadline);
        var expiredJwt = HandMadeJwt(SecuredServiceFixture.JwtSecret, expiresIn: TimeSpan.FromHours(-1));
        var forgedJwt = HandMadeJwt("a-different-secret-0123456789abcdefghijkl", expiresIn: TimeSpan.FromHours(1));
        var wrongIssuerJwt = HandMadeJwt(SecuredServiceFixture.JwtSecret, expiresIn: TimeSpan.FromHours(1), issuer: "someone-else");
        var wrongAudienceJwt = HandMadeJwt(SecuredServiceFixture.JwtSecret, expiresIn: TimeSpan.FromHours(1), audience: "another-service");
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        var refused = new List<(string Credential, GrpcChannel Channel, StatusCode Code, string Reason)>
        {
            ("missing", fixture.Anonymous, StatusCode.Unauthenticated, "CREDENTIAL_MISSING"),
            ("malformed key", fixture.With("mk_short"), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("unknown key", fixture.With("mk_aaaaaaaaaa_" + new string('b', 43)), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("tampered key", fixture.With(revoked.Secret[..^2] + "zz"), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("malformed jwt", fixture.With("not.a.jwt"), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("forged jwt", fixture.With(forgedJwt), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("jwt with wrong iss", fixture.With(wrongIssuerJwt), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("jwt with wrong aud", fixture.With(wrongAudienceJwt), StatusCode.Unauthenticated, "CREDENTIAL_INVALID"),
            ("expired jwt", fixture.With(expiredJwt), StatusCode.Unauthenticated, "CREDENTIAL_EXPIRED"),
            ("expired key", fixture.With(expiredKey.Secret), StatusCode.Unauthenticated, "CREDENTIAL_EXPIRED"),
            ("revoked key", fixture.With(revoked.Secret), StatusCode.Unauthenticated, "CREDENTIAL_REVOKED"),
        };

        var failures = new List<string>();
        foreach (var (name, _, call) in ProtectedRpcs())
        {
            foreach (var (credential, channel, code, reason) in refused)
            {
                var ex = await Record.ExceptionAsync(() => call(channel));
                if (ex is not RpcException rpc || rpc.StatusCode != code || Reason(rpc) != reason)
                {
                    failures.Add($"{name} with {credential}: expected {code}/{reason}, got {Describe(ex)}");
                }
            }
        }

        // Wrong scope: a key holding every scope except the one the RPC needs.
        foreach (var (name, scope, call) in ProtectedRpcs().Where(r => r.Scope.Length > 0))
        {
            var narrow = await keys.CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Name = "without " + scope,
                Scopes = { new[] { "execute", "route", "models:read", "keys:read", "keys:write", "usage:read", "sessions" }.Where(s => s != scope) },
            }, deadline: Deadline);
            var ex = await Record.ExceptionAsync(() => call(fixture.With(narrow.Secret)));
            if (ex is not RpcException { StatusCode: StatusCode.PermissionDenied } rpc || Reason(rpc) != "SCOPE_MISSING")
            {
                failures.Add($"{name} without scope {scope}: expected PermissionDenied/SCOPE_MISSING, got {Describe(ex)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task ApiKey_CreatedWithScopes_AuthenticatesViaBothHeadersAndIsListedWithoutSecret()
    {
        var keys = new ApiKeyService.ApiKeyServiceClient(fixture.Admin);
        var created = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "ci", Scopes = { "execute", "models:read" }, RequestsPerMinute = 100 }, deadline: Deadline);
        Assert.StartsWith("mk_", created.Secret, StringComparison.Ordinal);
        Assert.StartsWith(created.ApiKey.Prefix, created.Secret, StringComparison.Ordinal);
        Assert.Equal(["execute", "models:read"], created.ApiKey.Scopes);

        var whoami = await new AuthService.AuthServiceClient(fixture.With(created.Secret)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        Assert.Equal("api_key", whoami.Principal.AuthMethod);
        Assert.Equal(created.ApiKey.KeyId, whoami.Principal.ApiKeyId);
        Assert.Equal("admin", whoami.Principal.Role);

        // x-api-key works too.
        var viaHeader = await new RouterService.RouterServiceClient(fixture.Anonymous)
            .ExecuteAsync(Ping, new Metadata { { "x-api-key", created.Secret } }, Deadline);
        Assert.Equal(ExecutionStatus.Completed, viaHeader.Status);

        var listed = await keys.ListApiKeysAsync(new ListApiKeysRequest(), deadline: Deadline);
        var entry = Assert.Single(listed.ApiKeys, k => k.KeyId == created.ApiKey.KeyId);
        Assert.Equal(100, entry.RequestsPerMinute);
        Assert.DoesNotContain(created.Secret, listed.ToString(), StringComparison.Ordinal);

        // The database holds a hash, not the key.
        await using var db = Infrastructure.TestServices.Open(fixture.DatabaseUrl);
        await using var command = db.CreateCommand("SELECT count(*) FROM api_keys WHERE key_hash = sha256(convert_to($1, 'UTF8')) AND prefix = $2");
        command.Parameters.AddWithValue(created.Secret);
        command.Parameters.AddWithValue(created.ApiKey.Prefix);
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task CreateApiKey_ScopeBeyondCaller_PermissionDenied()
    {
        var (_, tokens) = await SignUpAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => new ApiKeyService.ApiKeyServiceClient(fixture.With(tokens.AccessToken))
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "escalate", Scopes = { "admin" } }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task Refresh_RotatesAndReuseOfRotatedTokenRevokesFamily()
    {
        var (email, first) = await SignUpAsync();
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);

        var second = (await auth.RefreshAsync(new RefreshRequest { RefreshToken = first.RefreshToken }, deadline: Deadline)).Tokens;
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        var third = (await auth.RefreshAsync(new RefreshRequest { RefreshToken = second.RefreshToken }, deadline: Deadline)).Tokens;

        // The access token from a rotation works.
        var whoami = await new AuthService.AuthServiceClient(fixture.With(third.AccessToken)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        Assert.Equal(email, whoami.Principal.Email);
        Assert.Equal("jwt", whoami.Principal.AuthMethod);

        // Replaying a rotated token: refused, and the whole family (including the newest token) dies.
        var reuse = await Assert.ThrowsAsync<RpcException>(() => auth.RefreshAsync(new RefreshRequest { RefreshToken = first.RefreshToken }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, reuse.StatusCode);
        Assert.Equal("REFRESH_TOKEN_REUSED", Reason(reuse));
        var afterReuse = await Assert.ThrowsAsync<RpcException>(() => auth.RefreshAsync(new RefreshRequest { RefreshToken = third.RefreshToken }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, afterReuse.StatusCode);

        var audit = await new AuthService.AuthServiceClient(fixture.Admin).ListAuditEventsAsync(new ListAuditEventsRequest { Kind = "refresh_token.reuse_detected" }, deadline: Deadline);
        Assert.Contains(audit.Events, e => e.PrincipalId == whoami.Principal.Id);
    }

    [Fact]
    public async Task Login_WrongPasswordAndUnknownEmail_SameGenericErrorThenLockout()
    {
        var (email, _) = await SignUpAsync();
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => auth.LoginAsync(new LoginRequest { Email = "nobody-" + email, Password = "wrong password!!" }, deadline: Deadline).ResponseAsync);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => auth.LoginAsync(new LoginRequest { Email = email, Password = "wrong password!!" }, deadline: Deadline).ResponseAsync);
        Assert.Equal(unknown.StatusCode, wrong.StatusCode);
        Assert.Equal(unknown.Status.Detail, wrong.Status.Detail);
        Assert.Equal(Reason(unknown), Reason(wrong));

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<RpcException>(() => auth.LoginAsync(new LoginRequest { Email = email, Password = "wrong password!!" }, deadline: Deadline).ResponseAsync);
        }

        // Locked after 5 failures: even the right password is refused, with the same generic error.
        var locked = await Assert.ThrowsAsync<RpcException>(() => auth.LoginAsync(new LoginRequest { Email = email, Password = "correct horse battery" }, deadline: Deadline).ResponseAsync);
        Assert.Equal(wrong.Status.Detail, locked.Status.Detail);
        Assert.Equal("INVALID_CREDENTIALS", Reason(locked));
    }

    [Fact]
    public async Task DeviceFlow_PendingThenApprovedBySignedInUser_IssuesTokensOnce()
    {
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var start = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest { ClientName = "e2e" }, deadline: Deadline);
        Assert.Matches("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$", start.UserCode);
        Assert.Equal(TimeSpan.FromSeconds(600), start.ExpiresIn.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(1), start.Interval.ToTimeSpan());
        Assert.Contains(start.UserCode, start.VerificationUriComplete, StringComparison.Ordinal);

        var pending = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = start.DeviceCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.AuthorizationPending, pending.State);
        Assert.Equal("authorization_pending", pending.Error);

        var (email, tokens) = await SignUpAsync();
        var approval = await new AuthService.AuthServiceClient(fixture.With(tokens.AccessToken))
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = start.UserCode.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.Approved, approval.State);

        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var approved = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = start.DeviceCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.Approved, approved.State);
        Assert.Equal(email, approved.Principal.Email);
        var whoami = await new AuthService.AuthServiceClient(fixture.With(approved.Tokens.AccessToken)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        Assert.Equal(email, whoami.Principal.Email);

        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var again = await Assert.ThrowsAsync<RpcException>(() => auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = start.DeviceCode }, deadline: Deadline).ResponseAsync);
        Assert.Equal("DEVICE_CODE_INVALID", Reason(again));
    }

    [Fact]
    public async Task DeviceFlow_PollingTooFast_SlowDownAndDenied_AccessDenied()
    {
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var fast = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest(), deadline: Deadline);
        await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = fast.DeviceCode }, deadline: Deadline);
        var slow = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = fast.DeviceCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.SlowDown, slow.State);
        Assert.Equal("slow_down", slow.Error);
        Assert.Equal(TimeSpan.FromSeconds(6), slow.Interval.ToTimeSpan());

        var denied = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest(), deadline: Deadline);
        var state = await new AuthService.AuthServiceClient(fixture.Admin)
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = denied.UserCode, Deny = true }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.AccessDenied, state.State);
        var poll = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = denied.DeviceCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.AccessDenied, poll.State);
        Assert.Equal("access_denied", poll.Error);
    }

    [Fact]
    public async Task ListAuditEvents_Developer_PermissionDenied_Admin_SeesKeyEvents()
    {
        var (_, tokens) = await SignUpAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(fixture.With(tokens.AccessToken))
            .ListAuditEventsAsync(new ListAuditEventsRequest(), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);

        var created = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin).CreateApiKeyAsync(new CreateApiKeyRequest { Name = "audited" }, deadline: Deadline);
        var events = await new AuthService.AuthServiceClient(fixture.Admin).ListAuditEventsAsync(new ListAuditEventsRequest { Kind = "api_key.created" }, deadline: Deadline);
        Assert.Contains(events.Events, e => e.Subject == created.ApiKey.KeyId);
        Assert.DoesNotContain(created.Secret, events.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_KeyOverMonthlyBudget_ResourceExhaustedBudgetExceeded()
    {
        var created = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin)
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "tiny budget", Scopes = { "execute" }, MonthlyBudgetUsd = 0.000001 }, deadline: Deadline);
        var router = new RouterService.RouterServiceClient(fixture.With(created.Secret));

        // The call's worst-case cost is held before it runs: one that could cost more than the budget never starts.
        var ex = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "fizzbuzz in python", MaxTokens = 50 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("BUDGET_EXCEEDED", Reason(ex));
        Assert.NotNull(ex.GetRpcStatus()!.GetDetail<RetryInfo>());
    }

    [Fact]
    public async Task Execute_KeyWithSmallTokenLimit_SecondCallTokenRateLimited()
    {
        var created = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin)
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "few tokens", Scopes = { "execute" }, TokensPerMinute = 120 }, deadline: Deadline);
        var router = new RouterService.RouterServiceClient(fixture.With(created.Secret));
        var request = new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz in python with tests", MaxTokens = 60 };
        var first = await router.ExecuteAsync(request, deadline: Deadline);
        Assert.True(first.Usage.TotalTokens > 60, $"used {first.Usage.TotalTokens}");

        // Reserved ~70 by estimate, corrected to the real total; another ~70 does not fit in 120.
        var ex = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(request, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("TOKEN_RATE_LIMITED", Reason(ex));

        // The RetryInfo delay also travels as gRPC's server pushback trailer, for clients' own retry policies.
        var retry = ex.GetRpcStatus()!.GetDetail<RetryInfo>().RetryDelay.ToTimeSpan();
        var pushback = ex.Trailers.GetValue("grpc-retry-pushback-ms");
        Assert.NotNull(pushback);
        Assert.Equal(Math.Ceiling(retry.TotalMilliseconds), double.Parse(pushback, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task GetUsageAndListExecutions_Developer_SeeOnlyTheirOwnAndAnotherPrincipalIsDenied()
    {
        var (_, tokens) = await SignUpAsync();
        var developer = fixture.With(tokens.AccessToken);
        var me = (await new AuthService.AuthServiceClient(developer).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).Principal.Id;
        var mine = await new RouterService.RouterServiceClient(developer).ExecuteAsync(Ping, deadline: Deadline);
        var admins = await new RouterService.RouterServiceClient(fixture.Admin).ExecuteAsync(Ping, deadline: Deadline);
        var adminId = (await new AuthService.AuthServiceClient(fixture.Admin).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).Principal.Id;
        var usage = new UsageService.UsageServiceClient(developer);

        // Usage is written off the request path: wait (bounded) until the developer's execution is listed.
        ListExecutionsResponse listed = new();
        for (var i = 0; i < 100 && !listed.Executions.Any(e => e.ExecutionId == mine.ExecutionId); i++)
        {
            await Task.Delay(100);
            listed = await usage.ListExecutionsAsync(new ListExecutionsRequest { PageSize = 500 }, deadline: Deadline);
        }

        Assert.Contains(listed.Executions, e => e.ExecutionId == mine.ExecutionId);
        Assert.All(listed.Executions, e => Assert.Equal(me, e.PrincipalId));
        Assert.DoesNotContain(listed.Executions, e => e.ExecutionId == admins.ExecutionId);
        var totals = (await usage.GetUsageAsync(new GetUsageRequest(), deadline: Deadline)).Totals;
        Assert.Equal(listed.Executions.Count, totals.Executions);

        foreach (var call in new Func<Task>[]
        {
            () => usage.GetUsageAsync(new GetUsageRequest { PrincipalId = adminId }, deadline: Deadline).ResponseAsync,
            () => usage.ListExecutionsAsync(new ListExecutionsRequest { PrincipalId = adminId }, deadline: Deadline).ResponseAsync,
        })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
            Assert.Equal("USAGE_SCOPE_DENIED", Reason(ex));
        }
    }

    [Fact]
    public async Task ListExecutionsAndGetUsage_CacheHit_RecordedAsCacheHit()
    {
        var (_, tokens) = await SignUpAsync();
        var caller = fixture.With(tokens.AccessToken);
        var router = new RouterService.RouterServiceClient(caller);
        var task = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = $"cache me {Guid.NewGuid():N}", MaxTokens = 8, Temperature = 0 };
        var first = await router.ExecuteAsync(task, deadline: Deadline);
        var second = await router.ExecuteAsync(task, deadline: Deadline);
        Assert.False(first.CacheHit);
        Assert.True(second.CacheHit);

        var usage = new UsageService.UsageServiceClient(caller);
        ListExecutionsResponse listed = new();
        for (var i = 0; i < 100 && listed.Executions.Count < 2; i++)
        {
            await Task.Delay(100);
            listed = await usage.ListExecutionsAsync(new ListExecutionsRequest(), deadline: Deadline);
        }

        var hit = Assert.Single(listed.Executions, e => e.ExecutionId == second.ExecutionId);
        Assert.True(hit.CacheHit);
        Assert.Equal(0, hit.Usage.CostUsd);
        Assert.False(Assert.Single(listed.Executions, e => e.ExecutionId == first.ExecutionId).CacheHit);
        var totals = (await usage.GetUsageAsync(new GetUsageRequest(), deadline: Deadline)).Totals;
        Assert.Equal(2, totals.Executions);
        Assert.Equal(1, totals.CacheHits);
    }

    [Fact]
    public async Task Feedback_AnotherDevelopersExecution_NotFoundAndOwnRatingCountsOnce()
    {
        var (_, aliceTokens) = await SignUpAsync();
        var (_, bobTokens) = await SignUpAsync();
        var alice = new RouterService.RouterServiceClient(fixture.With(aliceTokens.AccessToken));
        var bob = new RouterService.RouterServiceClient(fixture.With(bobTokens.AccessToken));
        var executed = await alice.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = $"rate me {Guid.NewGuid():N}", MaxTokens = 8 }, deadline: Deadline);

        // Bob cannot tell Alice's execution from a missing one, and cannot move the router's statistics with it.
        var foreign = await Assert.ThrowsAsync<RpcException>(() => bob.FeedbackAsync(new FeedbackRequest { ExecutionId = executed.ExecutionId, Rating = 1 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, foreign.StatusCode);
        Assert.Equal("EXECUTION_NOT_FOUND", Reason(foreign));

        var rated = await alice.FeedbackAsync(new FeedbackRequest { ExecutionId = executed.ExecutionId, Rating = 5 }, deadline: Deadline);
        Assert.Equal(executed.Model, rated.Model);
        var again = await Assert.ThrowsAsync<RpcException>(() => alice.FeedbackAsync(new FeedbackRequest { ExecutionId = executed.ExecutionId, Rating = 5 }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        Assert.Equal("FEEDBACK_ALREADY_RECORDED", Reason(again));
    }

    private async Task<(string Email, TokenPair Tokens)> SignUpAsync()
    {
        var email = $"dev-{Guid.NewGuid():N}@example.test";
        var response = await new AuthService.AuthServiceClient(fixture.Anonymous)
            .SignUpAsync(new SignUpRequest { Email = email, Password = "correct horse battery", DisplayName = "Dev" }, deadline: Deadline);
        Assert.Equal("developer", response.Principal.Role);
        return (email, response.Tokens);
    }

    internal static string? Reason(RpcException ex) =>
        ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;

    private static string Describe(Exception? ex) => ex switch
    {
        null => "success",
        RpcException rpc => $"{rpc.StatusCode}/{Reason(rpc)} ({rpc.Status.Detail})",
        _ => ex.GetType().Name + ": " + ex.Message,
    };

    /// <summary>An HS256 JWT built by hand (not by the service's library), by default with the service's issuer and audience.</summary>
    private static string HandMadeJwt(string secret, TimeSpan expiresIn, string issuer = "monkey-coder", string audience = "monkey-coder")
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow;
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = B64(Encoding.UTF8.GetBytes(
            $$"""{"sub":"usr_x","role":"admin","email":"x@example.test","iss":"{{issuer}}","aud":"{{audience}}","iat":{{now.AddHours(-2).ToUnixTimeSeconds()}},"nbf":{{now.AddHours(-2).ToUnixTimeSeconds()}},"exp":{{now.Add(expiresIn).ToUnixTimeSeconds()}}}"""));
        var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;
    }
}
