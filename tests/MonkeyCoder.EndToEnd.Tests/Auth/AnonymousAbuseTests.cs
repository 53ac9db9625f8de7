using System.Net;
using System.Net.Http.Json;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>
/// Issue 16 (anonymous calls, secrets and exposure): one test per attack, against the real Service and
/// REST host on PostgreSQL and Redis. Each test is named for the attack it stops.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AnonymousAbuseTests(AnonymousAbuseFixture fixture) : IClassFixture<AnonymousAbuseFixture>
{
    private const string Password = "correct horse battery";

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    [Fact]
    public async Task DeviceApproval_ByModelsReadOnlyKeyOfAnAdmin_RefusedAndPollNeverYieldsAdminToken()
    {
        // The attack from the issue: a key holding only models:read (here even an admin's) approves a
        // device flow, and the poll used to return an admin access token.
        var narrow = await new ApiKeyService.ApiKeyServiceClient(fixture.Admin)
            .CreateApiKeyAsync(new CreateApiKeyRequest { Name = "models only", Scopes = { "models:read" } }, deadline: Deadline);
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var start = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest { ClientName = "attacker" }, deadline: Deadline);

        var refused = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(fixture.With(narrow.Secret))
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = start.UserCode }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal("DEVICE_APPROVAL_NOT_ALLOWED", Reason(refused));

        var poll = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = start.DeviceCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.AuthorizationPending, poll.State);
        Assert.Null(poll.Tokens);
    }

    [Fact]
    public async Task DeviceApproval_ByShortLivedFullKey_SessionEndsWithTheKeyAndHasNoMoreScopes()
    {
        // A developer's key with every developer scope, expiring in 1 h, approves: the device's
        // session must not outlive the key (refreshing included) nor carry more than the role's scopes.
        var (_, session) = await SignUpAsync();
        var key = await new ApiKeyService.ApiKeyServiceClient(fixture.With(session.AccessToken)).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Name = "one hour",
            ExpiresIn = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
        }, deadline: Deadline);

        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var start = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest(), deadline: Deadline);
        var approval = await new AuthService.AuthServiceClient(fixture.With(key.Secret))
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = start.UserCode }, deadline: Deadline);
        Assert.Equal(DeviceAuthorizationState.Approved, approval.State);

        var approved = await PollUntilApprovedAsync(auth, start.DeviceCode);
        Assert.InRange(approved.Tokens.RefreshExpiresIn.ToTimeSpan(), TimeSpan.FromMinutes(55), TimeSpan.FromHours(1));
        Assert.DoesNotContain("admin", approved.Principal.Scopes);
        var refreshed = await auth.RefreshAsync(new RefreshRequest { RefreshToken = approved.Tokens.RefreshToken }, deadline: Deadline);
        Assert.True(refreshed.Tokens.RefreshExpiresIn.ToTimeSpan() <= TimeSpan.FromHours(1), "a refresh extended the session past the approving key");

        var whoami = await new AuthService.AuthServiceClient(fixture.With(approved.Tokens.AccessToken)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        Assert.Equal(approved.Principal.Scopes.Order(), whoami.Principal.Scopes.Order());
    }

    [Fact]
    public async Task DeviceApproval_BySignedInSession_GrantsThatSessionsScopesAndEndsWithIt()
    {
        var (_, session) = await SignUpAsync();
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var start = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest(), deadline: Deadline);
        await new AuthService.AuthServiceClient(fixture.With(session.AccessToken))
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = start.UserCode }, deadline: Deadline);
        var approved = await PollUntilApprovedAsync(auth, start.DeviceCode);
        Assert.Equal(["execute", "keys:read", "keys:write", "models:read", "route", "sessions", "usage:read"], approved.Principal.Scopes.Order());

        // Once the approving session is logged out, it can approve nothing more.
        await auth.LogoutAsync(new LogoutRequest { RefreshToken = session.RefreshToken }, deadline: Deadline);
        var next = await auth.StartDeviceAuthorizationAsync(new StartDeviceAuthorizationRequest(), deadline: Deadline);
        var ended = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(fixture.With(session.AccessToken))
            .ApproveDeviceAuthorizationAsync(new ApproveDeviceAuthorizationRequest { UserCode = next.UserCode }, deadline: Deadline).ResponseAsync);
        Assert.Equal("DEVICE_APPROVAL_NOT_ALLOWED", Reason(ended));
    }

    [Fact]
    public async Task StolenRefreshToken_AdminEndsUsersSessions_RefreshRefusedOverGrpcAndRest()
    {
        var (_, first) = await SignUpAsync();
        var whoami = await new AuthService.AuthServiceClient(fixture.With(first.AccessToken)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        var second = (await new AuthService.AuthServiceClient(fixture.Anonymous)
            .LoginAsync(new LoginRequest { Email = whoami.Principal.Email, Password = Password }, deadline: Deadline)).Tokens;

        // A developer cannot end anyone's sessions.
        var denied = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(fixture.With(first.AccessToken))
            .EndUserSessionsAsync(new EndUserSessionsRequest { UserId = whoami.Principal.Id }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // The admin does, through the REST binding.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{whoami.Principal.Id}/sessions:end") { Content = JsonContent.Create(new { }) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
        using var response = await fixture.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"endedSessions\":2", body.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

        foreach (var token in new[] { first.RefreshToken, second.RefreshToken })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(fixture.Anonymous)
                .RefreshAsync(new RefreshRequest { RefreshToken = token }, deadline: Deadline).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }
    }

    [Fact]
    public async Task PasswordGuessing_FromOneClientAddress_Http429WithRetryAfterWhileOtherClientsPass()
    {
        var attacker = RandomClientAddress();
        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < AnonymousAbuseFixture.PerClient + 1; i++)
        {
            last?.Dispose();
            last = await RestLoginAsync(attacker, $"victim-{i}-{Guid.NewGuid():N}@example.test");
            codes.Add(last.StatusCode);
        }

        Assert.All(codes.Take(AnonymousAbuseFixture.PerClient), c => Assert.Equal(HttpStatusCode.Unauthorized, c));
        Assert.Equal(HttpStatusCode.TooManyRequests, codes[^1]);
        Assert.True(last!.Headers.RetryAfter?.Delta is { } delay && delay > TimeSpan.Zero, "429 without Retry-After");
        Assert.Contains("SIGN_IN_RATE_LIMITED", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        last.Dispose();

        // Another client (another forwarded address from the trusted proxy) is not affected.
        using var other = await RestLoginAsync(RandomClientAddress(), $"someone-{Guid.NewGuid():N}@example.test");
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);

        // The device page counts the same way.
        var pageClient = RandomClientAddress();
        var pageCodes = new List<HttpStatusCode>();
        for (var i = 0; i < AnonymousAbuseFixture.PerClient + 1; i++)
        {
            using var page = new HttpRequestMessage(HttpMethod.Get, "/device");
            page.Headers.Add("X-Forwarded-For", pageClient);
            using var answer = await fixture.Http.SendAsync(page);
            pageCodes.Add(answer.StatusCode);
            if (answer.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.NotNull(answer.Headers.RetryAfter);
            }
        }

        Assert.Equal(HttpStatusCode.OK, pageCodes[0]);
        Assert.Equal(HttpStatusCode.TooManyRequests, pageCodes[^1]);
    }

    [Fact]
    public async Task PasswordGuessing_OnOneAccountFromManyAddresses_ResourceExhaustedWithRetryInfo()
    {
        // gRPC from one address (its per-address limit is high here): the per-account count stops it.
        var (email, _) = await SignUpAsync();
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        RpcException? limited = null;
        for (var i = 0; i < AnonymousAbuseFixture.PerAccount + 2 && limited is null; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => auth.LoginAsync(new LoginRequest { Email = email.ToUpperInvariant(), Password = "wrong password " + i }, deadline: Deadline).ResponseAsync);
            limited = ex.StatusCode == StatusCode.ResourceExhausted ? ex : null;
        }

        Assert.NotNull(limited);
        Assert.Equal("SIGN_IN_RATE_LIMITED", Reason(limited!));
        var retry = limited!.GetRpcStatus()?.GetDetail<RetryInfo>();
        Assert.NotNull(retry);
        Assert.True(retry!.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
    }

    [Fact]
    public async Task ParallelPasswordGuessing_EachWrongPasswordCounts_AccountLocks()
    {
        // Five wrong passwords at once used to read the same counter and write 1: no lockout ever.
        var (email, session) = await SignUpAsync();
        var auth = new AuthService.AuthServiceClient(fixture.Anonymous);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var guesses = Enumerable.Range(0, 5).Select(async i =>
        {
            await go.Task;
            return await Record.ExceptionAsync(() => auth.LoginAsync(new LoginRequest { Email = email, Password = "wrong password " + i }, deadline: Deadline).ResponseAsync);
        }).ToList();
        go.SetResult();
        var results = await Task.WhenAll(guesses);
        Assert.All(results, r => Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(r).StatusCode));

        // Each failure got its own count (1..5) and the fifth locked the account; a read-then-write
        // counter would have recorded "failure 1" five times.
        var me = await new AuthService.AuthServiceClient(fixture.With(session.AccessToken)).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
        var audit = await new AuthService.AuthServiceClient(fixture.Admin).ListAuditEventsAsync(new ListAuditEventsRequest { Kind = "login.failed", PageSize = 500 }, deadline: Deadline);
        var details = audit.Events.Where(e => e.Subject == me.Principal.Id).Select(e => e.Detail).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["failure 1", "failure 2", "failure 3", "failure 4", "failure 5; locked"], details);
    }

    [Fact]
    public async Task ProductionStart_GeneratedAdminKeyNotPrintedSignUpClosed_KeyIn0600File()
    {
        var dir = Directory.CreateTempSubdirectory("mk-i16-bootstrap-");
        var keyFile = Path.Combine(dir.FullName, "admin-key");
        try
        {
            await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
            {
                ["ENVIRONMENT"] = "production",
                ["DATABASE_URL"] = await TestServices.CreateDatabaseAsync(),
                ["REDIS_URL"] = TestServices.RedisUrl,
                ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
                ["MONKEY_CODER_ADMIN_API_KEY"] = "",
                ["AUTH_BOOTSTRAP_KEY_FILE"] = keyFile,
                // Production refuses to start without a provider; this one is never called.
                ["OPENAI_API_KEY"] = "sk-test-unused",
                ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1",
            });
            Assert.True(await host.WaitForOutputAsync(l => l.Contains(keyFile, StringComparison.Ordinal), TimeSpan.FromSeconds(30)), string.Join('\n', host.Output));
            var key = (await File.ReadAllTextAsync(keyFile)).Trim();
            Assert.StartsWith("mk_", key, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            Assert.DoesNotContain(host.Output, l => l.Contains(key, StringComparison.Ordinal));

            using var admin = ServiceFixture.AuthenticatedChannel(host.Address, key);
            var me = await new AuthService.AuthServiceClient(admin).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
            Assert.Contains("admin", me.Principal.Scopes);

            using var anonymous = GrpcChannel.ForAddress(host.Address);
            var closed = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(anonymous)
                .SignUpAsync(new SignUpRequest { Email = $"x-{Guid.NewGuid():N}@example.test", Password = Password }, deadline: Deadline).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, closed.StatusCode);
            Assert.Equal("SIGN_UP_DISABLED", Reason(closed));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RevokedConfiguredAdminKey_HostRestarted_StaysRevokedAndStartUpSaysSo()
    {
        var configured = "mk_" + Guid.NewGuid().ToString("N")[..10] + "_" + Guid.NewGuid().ToString("N") + "abcdefgh";
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = await TestServices.CreateDatabaseAsync(),
            ["REDIS_URL"] = TestServices.RedisUrl,
            ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
            ["MONKEY_CODER_ADMIN_API_KEY"] = configured,
        };
        await using (var first = await HostProcess.StartServiceAsync(environment))
        {
            using var channel = ServiceFixture.AuthenticatedChannel(first.Address, configured);
            var me = await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline);
            await new ApiKeyService.ApiKeyServiceClient(channel).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = me.Principal.ApiKeyId }, deadline: Deadline);
        }

        await using var second = await HostProcess.StartServiceAsync(environment);
        Assert.True(await second.WaitForOutputAsync(l => l.Contains("stays revoked", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), string.Join('\n', second.Output));
        using var again = ServiceFixture.AuthenticatedChannel(second.Address, configured);
        var refused = await Assert.ThrowsAsync<RpcException>(() => new AuthService.AuthServiceClient(again).WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal("CREDENTIAL_REVOKED", Reason(refused));
    }

    [Fact]
    public async Task MetricsScrape_OnPublicPortEvenWithSpoofedHostHeader_NotFound_ServedOnMetricsPort()
    {
        using (var plain = await fixture.Http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
        }

        using (var spoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            spoofed.Headers.Host = $"127.0.0.1:{fixture.Gateway.MetricsPort}";
            using var response = await fixture.Http.SendAsync(spoofed);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var scraper = new HttpClient { BaseAddress = fixture.Gateway.MetricsAddress, Timeout = TimeSpan.FromSeconds(30) };
        var text = await scraper.GetStringAsync("/metrics");
        Assert.Contains("# TYPE", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CachedAnswer_SamePromptFromAnotherUser_NotServedFromTheFirstUsersCache()
    {
        // A cache hit across users would tell the second caller that someone sent this exact prompt.
        var task = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = $"secret plan {Guid.NewGuid():N}", MaxTokens = 8, Temperature = 0 };
        var (_, alice) = await SignUpAsync();
        var (_, mallory) = await SignUpAsync();
        var aliceRouter = new RouterService.RouterServiceClient(fixture.With(alice.AccessToken));
        Assert.False((await aliceRouter.ExecuteAsync(task, deadline: Deadline)).CacheHit);
        Assert.True((await aliceRouter.ExecuteAsync(task, deadline: Deadline)).CacheHit);
        var probe = await new RouterService.RouterServiceClient(fixture.With(mallory.AccessToken)).ExecuteAsync(task, deadline: Deadline);
        Assert.False(probe.CacheHit);
    }

    [Fact]
    public async Task BackupAndRestore_PasswordInDatabaseUrl_NeverInToolArgumentsAndDumpOwnerOnly()
    {
        // Fake pg_dump/pg_restore first on PATH record what they were given; `ps` shows arguments to every user.
        var dir = Directory.CreateTempSubdirectory("mk-i16-backup-");
        try
        {
            var bin = Directory.CreateDirectory(Path.Combine(dir.FullName, "bin")).FullName;
            foreach (var tool in new[] { "pg_dump", "pg_restore" })
            {
                var path = Path.Combine(bin, tool);
                await File.WriteAllTextAsync(path, $$"""
                    #!/usr/bin/env bash
                    printf '%s\n' "$@" > "{{dir.FullName}}/{{tool}}.args"
                    cat "$PGPASSFILE" > "{{dir.FullName}}/{{tool}}.pass"
                    for a in "$@"; do case $a in --file=*) echo dump > "${a#--file=}";; esac; done
                    """.Replace("\r", "", StringComparison.Ordinal));
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            const string password = "pa:ss@w0rd-Secret";
            var environment = new Dictionary<string, string>
            {
                ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["DATABASE_URL"] = "postgresql://monkey:" + Uri.EscapeDataString(password) + "@db.internal:5432/monkeycoder",
            };
            var backups = Path.Combine(dir.FullName, "backups");
            var backup = await RunScriptAsync("backup.sh", [backups], environment);
            Assert.True(backup.ExitCode == 0, backup.Output);
            var file = backup.Output.Trim().Split('\n')[^1];
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            var restore = await RunScriptAsync("restore.sh", ["latest", backups], environment);
            Assert.True(restore.ExitCode == 0, restore.Output);

            foreach (var tool in new[] { "pg_dump", "pg_restore" })
            {
                var args = await File.ReadAllTextAsync(Path.Combine(dir.FullName, tool + ".args"));
                Assert.DoesNotContain(password, args, StringComparison.Ordinal);
                Assert.DoesNotContain(Uri.EscapeDataString(password), args, StringComparison.Ordinal);
                Assert.Contains("postgresql://monkey@db.internal:5432/monkeycoder", args, StringComparison.Ordinal);
                Assert.Equal(@"*:*:*:*:pa\:ss@w0rd-Secret", (await File.ReadAllTextAsync(Path.Combine(dir.FullName, tool + ".pass"))).Trim());
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunScriptAsync(string script, string[] arguments, Dictionary<string, string> environment)
    {
        var info = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(HostProcess.RepoRoot(), "scripts", script));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public Task Fuzz_MutatedJsonToEveryRestRpcAndOpenAi_NoServerErrorAndHostsStayUp() => FuzzAsync(grpcPerMethod: 0);

    /// <summary>
    /// Every RPC of every Monkey Coder service gets mutated protobuf (112 per RPC, ~3,000 in all, within
    /// 40 s): a body that does not parse must answer INVALID_ARGUMENT (MALFORMED_REQUEST, from the
    /// guarded request marshallers of <c>MalformedRequestGuard</c>), never UNKNOWN/INTERNAL, and the
    /// Service logs no error. Without the guard over half of the mutated messages (1,535 of 2,700 in
    /// one run) failed in grpc-dotnet's deserializer, before any interceptor, as UNKNOWN ("Exception
    /// was thrown by handler") with an error log line. The REST and OpenAI passes run as in the
    /// JSON-only test.
    /// </summary>
    [Fact]
    public Task Fuzz_MutatedProtobufToEveryGrpcRpc_NoUnknownOrInternalAndHostsStayUp() => FuzzAsync(grpcPerMethod: 112);

    [Fact]
    public async Task MalformedProtobuf_ToUnaryAndServerStreamingRpcs_InvalidArgumentMalformedRequestAndNoErrorLog()
    {
        var errorsBefore = fixture.Service.ErrorLines.Count();
        var truncated = Google.Protobuf.MessageExtensions.ToByteArray(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "a prompt long enough to be cut" })[..10];
        byte[] garbage = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        foreach (var (channel, service, method, type) in new[]
        {
            (fixture.Admin, RouterService.Descriptor.FullName, "Execute", MethodType.Unary),
            (fixture.Admin, RouterService.Descriptor.FullName, "StreamExecute", MethodType.ServerStreaming),
            // Anonymous and before any interceptor: the body is read first.
            (fixture.Anonymous, AuthService.Descriptor.FullName, "Login", MethodType.Unary),
        })
        {
            var invoker = channel.CreateCallInvoker();
            foreach (var body in new[] { truncated, garbage })
            {
                var rpc = new Method<byte[], byte[]>(type, service, method, bytes, bytes);
                var options = new CallOptions(deadline: Deadline);
                var ex = await Assert.ThrowsAsync<RpcException>(async () =>
                {
                    if (type == MethodType.Unary)
                    {
                        await invoker.AsyncUnaryCall(rpc, null, options, body).ResponseAsync;
                        return;
                    }

                    using var call = invoker.AsyncServerStreamingCall(rpc, null, options, body);
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                });

                Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
                // The google.rpc.Status is in the trailer itself, as every other error's.
                var status = Google.Rpc.Status.Parser.ParseFrom(ex.Trailers.GetValueBytes("grpc-status-details-bin"));
                Assert.Equal((int)StatusCode.InvalidArgument, status.Code);
                var info = status.Details.Single(d => d.Is(ErrorInfo.Descriptor)).Unpack<ErrorInfo>();
                Assert.Equal("MALFORMED_REQUEST", info.Reason);
                Assert.Equal("monkeycoder", info.Domain);
                Assert.Equal($"/{service}/{method}", info.Metadata["method"]);
                Assert.Equal("request", status.Details.Single(d => d.Is(BadRequest.Descriptor)).Unpack<BadRequest>().FieldViolations.Single().Field);
            }
        }

        // Still serving, and nothing logged at error level (the console logger writes asynchronously).
        var health = await new Grpc.Health.V1.Health.HealthClient(fixture.Anonymous).CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: Deadline);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        await Task.Delay(500);
        Assert.Equal(errorsBefore, fixture.Service.ErrorLines.Count());
    }

    private async Task FuzzAsync(int grpcPerMethod)
    {
        // Bounded by count and time (a busy 2-core machine runs it in well under a minute).
        var seed = Environment.TickCount;
        var budget = System.Diagnostics.Stopwatch.StartNew();
        var serviceErrorsBefore = fixture.Service.ErrorLines.Count();
        var grpc = await FuzzGrpcAsync(new Random(seed), perMethod: grpcPerMethod, TimeSpan.FromSeconds(40));
        var rest = await FuzzRestAsync(new Random(seed + 1), perRoute: 30, TimeSpan.FromSeconds(15));
        var openAi = await FuzzOpenAiAsync(new Random(seed + 2), count: 400, TimeSpan.FromSeconds(8));

        // Still up, still answering.
        var health = await new Grpc.Health.V1.Health.HealthClient(fixture.Anonymous).CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: Deadline);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        using (var up = await fixture.Http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        }

        Report.Write("fuzz-seed", seed);
        Report.Write("fuzz-seconds", budget.Elapsed.TotalSeconds);
        foreach (var (name, counts) in new[] { ("fuzz-grpc", grpc.Counts), ("fuzz-rest", rest.Counts), ("fuzz-openai", openAi.Counts) })
        {
            Report.Write(name + "-inputs", counts.Values.Sum());
            foreach (var (status, count) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                Report.Write($"{name}-status-{status}", count);
            }
        }

        var failures = grpc.Failures.Concat(rest.Failures).Concat(openAi.Failures).ToList();
        // Distinct kinds first: one line per (RPC, answer) so a single cause does not hide the others.
        var kinds = failures.GroupBy(f => f[..f.IndexOf(' ', StringComparison.Ordinal)] + " " + f[(f.IndexOf('→') + 1)..]).Select(g => $"{g.Count()}× {g.First()}").ToList();
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} server errors:\n" + string.Join('\n', kinds.OrderBy(k => k.Contains("Exception was thrown by handler", StringComparison.Ordinal)).Take(25)));
        Assert.True((grpcPerMethod == 0 || grpc.Counts.Values.Sum() >= 1500) && rest.Counts.Values.Sum() >= 300 && openAi.Counts.Values.Sum() >= 100,
            $"too few inputs sent: grpc {grpc.Counts.Values.Sum()}, rest {rest.Counts.Values.Sum()}, openai {openAi.Counts.Values.Sum()}");
        // The Service only received the gRPC pass: none of it may be logged as an error.
        await Task.Delay(500);
        var serviceErrors = fixture.Service.ErrorLines.Skip(serviceErrorsBefore).ToList();
        Assert.True(serviceErrors.Count == 0, $"seed {seed}: {serviceErrors.Count} error lines in the Service log, first: {serviceErrors.FirstOrDefault()}");
    }

    private sealed record FuzzResult(System.Collections.Concurrent.ConcurrentDictionary<string, int> Counts, System.Collections.Concurrent.ConcurrentQueue<string> Failures)
    {
        public static FuzzResult Create() => new(new(StringComparer.Ordinal), new());

        public void Count(string status) => Counts.AddOrUpdate(status, 1, (_, n) => n + 1);
    }

    private static readonly Google.Protobuf.Reflection.FileDescriptor[] Contract =
    [
        RouterServiceReflection.Descriptor, ModelServiceReflection.Descriptor, AuthServiceReflection.Descriptor,
        ApiKeyServiceReflection.Descriptor, UsageServiceReflection.Descriptor, SessionServiceReflection.Descriptor,
        UserServiceReflection.Descriptor,
    ];

    private async Task<FuzzResult> FuzzGrpcAsync(Random random, int perMethod, TimeSpan limit)
    {
        var result = FuzzResult.Create();
        var invoker = fixture.Admin.CreateCallInvoker();
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var inputs = new List<(Google.Protobuf.Reflection.MethodDescriptor Method, byte[] Body)>();
        foreach (var method in Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods))
        {
            for (var i = 0; i < perMethod; i++)
            {
                inputs.Add((method, Mutate(random, Seed(random, method.InputType))));
            }
        }

        await Parallel.ForEachAsync(inputs.OrderBy(_ => random.Next()).ToList(), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (input, _) =>
        {
            if (watch.Elapsed > limit)
            {
                return;
            }

            var type = input.Method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary;
            var method = new Method<byte[], byte[]>(type, input.Method.Service.FullName, input.Method.Name, bytes, bytes);
            var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20));
            StatusCode status;
            string detail = "";
            try
            {
                if (type == MethodType.Unary)
                {
                    await invoker.AsyncUnaryCall(method, null, options, input.Body).ResponseAsync;
                }
                else
                {
                    using var call = invoker.AsyncServerStreamingCall(method, null, options, input.Body);
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                }

                status = StatusCode.OK;
            }
            catch (RpcException ex)
            {
                status = ex.StatusCode;
                detail = ex.Status.Detail;
            }

            result.Count(status.ToString());
            if (status is StatusCode.Internal or StatusCode.Unknown)
            {
                result.Failures.Enqueue($"{input.Method.FullName} {Convert.ToHexString(input.Body)} → {status} {detail}");
            }
        });
        return result;
    }

    private async Task<FuzzResult> FuzzRestAsync(Random random, int perRoute, TimeSpan limit)
    {
        var result = FuzzResult.Create();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var inputs = new List<(HttpMethod Verb, string Path, string? Body)>();
        foreach (var method in Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods))
        {
            var rule = method.GetOptions()?.GetExtension(Google.Api.AnnotationsExtensions.Http);
            if (rule is null)
            {
                continue;
            }

            var (verb, template) = rule.PatternCase switch
            {
                Google.Api.HttpRule.PatternOneofCase.Get => (HttpMethod.Get, rule.Get),
                Google.Api.HttpRule.PatternOneofCase.Post => (HttpMethod.Post, rule.Post),
                Google.Api.HttpRule.PatternOneofCase.Delete => (HttpMethod.Delete, rule.Delete),
                Google.Api.HttpRule.PatternOneofCase.Patch => (HttpMethod.Patch, rule.Patch),
                _ => (HttpMethod.Put, rule.Put),
            };
            for (var i = 0; i < perRoute; i++)
            {
                var path = System.Text.RegularExpressions.Regex.Replace(template, @"\{[^}]*\}", _ => Uri.EscapeDataString(RandomText(random, 12)));
                if (verb == HttpMethod.Get || verb == HttpMethod.Delete)
                {
                    path += "?page_size=" + Uri.EscapeDataString(RandomText(random, 6)) + "&" + Uri.EscapeDataString(RandomText(random, 5)) + "=" + Uri.EscapeDataString(RandomText(random, 8));
                    inputs.Add((verb, path, null));
                }
                else
                {
                    var json = Google.Protobuf.JsonFormatter.Default.Format(Seed(random, method.InputType));
                    inputs.Add((verb, path, System.Text.Encoding.UTF8.GetString(Mutate(random, System.Text.Encoding.UTF8.GetBytes(json), text: true))));
                }
            }
        }

        await SendAllAsync(random, inputs, limit, watch, result, authorized: true);
        return result;
    }

    private async Task<FuzzResult> FuzzOpenAiAsync(Random random, int count, TimeSpan limit)
    {
        var result = FuzzResult.Create();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        const string chat = """{"model":"auto","max_tokens":8,"temperature":0,"stream":false,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}]}""";
        var inputs = new List<(HttpMethod Verb, string Path, string? Body)>();
        for (var i = 0; i < count; i++)
        {
            inputs.Add(i % 10 == 0
                ? (HttpMethod.Get, "/openai/v1/models/" + Uri.EscapeDataString(RandomText(random, 10)), null)
                : (HttpMethod.Post, "/openai/v1/chat/completions", System.Text.Encoding.UTF8.GetString(Mutate(random, System.Text.Encoding.UTF8.GetBytes(chat), text: true))));
        }

        await SendAllAsync(random, inputs, limit, watch, result, authorized: true);
        return result;
    }

    private async Task SendAllAsync(Random random, List<(HttpMethod Verb, string Path, string? Body)> inputs, TimeSpan limit, System.Diagnostics.Stopwatch watch, FuzzResult result, bool authorized)
    {
        await Parallel.ForEachAsync(inputs.OrderBy(_ => random.Next()).ToList(), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (input, ct) =>
        {
            if (watch.Elapsed > limit)
            {
                return;
            }

            using var request = new HttpRequestMessage(input.Verb, input.Path);
            if (input.Body is not null)
            {
                request.Content = new StringContent(input.Body, System.Text.Encoding.UTF8, "application/json");
            }

            if (authorized)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
            }

            using var response = await fixture.Http.SendAsync(request, ct);
            result.Count(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            if ((int)response.StatusCode >= 500)
            {
                result.Failures.Enqueue($"{input.Verb} {input.Path} {input.Body} → {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        });
    }

    /// <summary>A message of <paramref name="type"/> with random values in its scalar fields (enums and messages left unset).</summary>
    private static Google.Protobuf.IMessage Seed(Random random, Google.Protobuf.Reflection.MessageDescriptor type)
    {
        var message = type.Parser.ParseFrom([]);
        foreach (var field in type.Fields.InFieldNumberOrder().Where(f => !f.IsRepeated && !f.IsMap && random.Next(3) > 0))
        {
            object? value = field.FieldType switch
            {
                Google.Protobuf.Reflection.FieldType.String => RandomText(random, random.Next(0, 40)),
                Google.Protobuf.Reflection.FieldType.Int32 or Google.Protobuf.Reflection.FieldType.SInt32 or Google.Protobuf.Reflection.FieldType.SFixed32 => random.Next(3) == 0 ? int.MinValue + random.Next(3) : random.Next(-5, 100_000),
                Google.Protobuf.Reflection.FieldType.Int64 or Google.Protobuf.Reflection.FieldType.SInt64 or Google.Protobuf.Reflection.FieldType.SFixed64 => random.Next(3) == 0 ? long.MaxValue - random.Next(3) : random.NextInt64(-5, 1_000_000),
                Google.Protobuf.Reflection.FieldType.Double => new[] { double.NaN, double.PositiveInfinity, -1.0, 1e308, random.NextDouble() * 3 }[random.Next(5)],
                Google.Protobuf.Reflection.FieldType.Float => new[] { float.NaN, float.NegativeInfinity, -1f, (float)random.NextDouble() }[random.Next(4)],
                Google.Protobuf.Reflection.FieldType.Bool => random.Next(2) == 0,
                _ => null,
            };
            if (value is not null)
            {
                try
                {
                    field.Accessor.SetValue(message, value);
                }
                catch (Exception ex) when (ex is InvalidCastException or ArgumentException)
                {
                    // A oneof or wrapper shape the seed does not cover: the byte mutations still reach it.
                }
            }
        }

        return message;
    }

    private static byte[] Mutate(Random random, Google.Protobuf.IMessage message) =>
        Mutate(random, Google.Protobuf.MessageExtensions.ToByteArray(message));

    private const string JsonBytes = "{}[]\":,0123456789-eE.truefalsnul \\";

    /// <summary>Flips, inserts, deletes and truncates a few bytes (or, once in five, sends the seed unchanged).</summary>
    private static byte[] Mutate(Random random, byte[] seed, bool text = false)
    {
        var bytes = seed.ToList();
        var edits = random.Next(5) == 0 ? 0 : random.Next(1, 6);
        for (var i = 0; i < edits; i++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            var value = text ? (byte)JsonBytes[random.Next(JsonBytes.Length)] : (byte)random.Next(256);
            switch (random.Next(4))
            {
                case 0 when bytes.Count > 0: bytes[at] = value; break;
                case 1: bytes.Insert(at, value); break;
                case 2 when bytes.Count > 0: bytes.RemoveAt(at); break;
                default: if (bytes.Count > 0) { bytes.RemoveRange(at, bytes.Count - at); } break;
            }
        }

        return bytes.ToArray();
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "abcXYZ019_-.:/@%é漢 \t\n\"'\\{}<>?&=#\u0000";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private async Task<HttpResponseMessage> RestLoginAsync(string clientAddress, string email)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password = "wrong password!!" }) };
        request.Headers.Add("X-Forwarded-For", clientAddress);
        return await fixture.Http.SendAsync(request);
    }

    private static string RandomClientAddress() =>
        $"10.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}";

    private async Task<(string Email, TokenPair Tokens)> SignUpAsync()
    {
        var email = $"abuse-{Guid.NewGuid():N}@example.test";
        var response = await new AuthService.AuthServiceClient(fixture.Anonymous)
            .SignUpAsync(new SignUpRequest { Email = email, Password = Password, DisplayName = "Dev" }, deadline: Deadline);
        return (email, response.Tokens);
    }

    private static async Task<PollDeviceAuthorizationResponse> PollUntilApprovedAsync(AuthService.AuthServiceClient auth, string deviceCode)
    {
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            var poll = await auth.PollDeviceAuthorizationAsync(new PollDeviceAuthorizationRequest { DeviceCode = deviceCode }, deadline: Deadline);
            if (poll.State == DeviceAuthorizationState.Approved)
            {
                return poll;
            }
        }

        throw new TimeoutException("The device was never approved.");
    }

    private static string? Reason(RpcException ex) => AuthTests.Reason(ex);
}
