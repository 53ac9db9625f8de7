using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.V1;
using Principal = MonkeyCoder.Core.Auth.Principal;

namespace MonkeyCoder.Core.Api;

/// <summary>AuthService: accounts, sessions, the device flow and the audit trail. Logic lives in <see cref="IdentityService"/>.</summary>
internal sealed class AuthApi(IdentityService identity, IIdentityStore store, Microsoft.Extensions.Options.IOptions<AuthOptions> options,
    Limits.RateLimitInterceptor? limits = null) : AuthService.AuthServiceBase
{
    public override async Task<SignUpResponse> SignUp(SignUpRequest request, ServerCallContext context)
    {
        var (user, tokens) = await identity.SignUpAsync(request.Email, request.Password, request.DisplayName, context.CancellationToken);
        return new SignUpResponse { Principal = ToProto(user, Principal.JwtMethod, tokens.Scopes), Tokens = ToProto(tokens) };
    }

    public override async Task<LoginResponse> Login(LoginRequest request, ServerCallContext context)
    {
        var (user, tokens) = await identity.LoginAsync(request.Email, request.Password, context.CancellationToken);
        return new LoginResponse { Principal = ToProto(user, Principal.JwtMethod, tokens.Scopes), Tokens = ToProto(tokens) };
    }

    public override async Task<RefreshResponse> Refresh(RefreshRequest request, ServerCallContext context) =>
        new() { Tokens = ToProto(await identity.RefreshAsync(request.RefreshToken, context.CancellationToken)) };

    public override async Task<LogoutResponse> Logout(LogoutRequest request, ServerCallContext context)
    {
        await identity.LogoutAsync(request.RefreshToken, context.CancellationToken);
        return new LogoutResponse();
    }

    public override async Task<StartDeviceAuthorizationResponse> StartDeviceAuthorization(StartDeviceAuthorizationRequest request, ServerCallContext context)
    {
        var (deviceCode, userCode, expiresIn, interval) = await identity.StartDeviceAsync(context.CancellationToken);
        var uri = identity.VerificationUri;
        return new StartDeviceAuthorizationResponse
        {
            DeviceCode = deviceCode,
            UserCode = userCode,
            VerificationUri = uri,
            VerificationUriComplete = uri + (uri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "user_code=" + Uri.EscapeDataString(userCode),
            ExpiresIn = Duration.FromTimeSpan(expiresIn),
            Interval = Duration.FromTimeSpan(interval),
        };
    }

    public override async Task<PollDeviceAuthorizationResponse> PollDeviceAuthorization(PollDeviceAuthorizationRequest request, ServerCallContext context)
    {
        var result = await identity.PollDeviceAsync(request.DeviceCode, context.CancellationToken);
        var response = new PollDeviceAuthorizationResponse
        {
            State = ToState(result.State),
            Error = result.State == IdentityService.DeviceApproved ? "" : result.State,
            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(result.IntervalSeconds)),
        };
        if (result.Tokens is not null && result.User is not null)
        {
            response.Tokens = ToProto(result.Tokens);
            response.Principal = ToProto(result.User, Principal.JwtMethod, result.Tokens.Scopes);
        }

        return response;
    }

    public override async Task<ApproveDeviceAuthorizationResponse> ApproveDeviceAuthorization(ApproveDeviceAuthorizationRequest request, ServerCallContext context)
    {
        var state = await identity.ApproveDeviceAsync(context.RequirePrincipal(), request.UserCode, request.Deny, context.CancellationToken);
        return new ApproveDeviceAuthorizationResponse { State = ToState(state) };
    }

    public override async Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        // With AUTH_ENABLED=false nobody is authenticated: say so instead of asking for a credential.
        if (!options.Value.Enabled && context.GetPrincipal() is null)
        {
            return new WhoAmIResponse
            {
                Principal = new V1.Principal { Id = MonkeyCoder.Core.Usage.CallerIdentity.Anonymous.PrincipalId, DisplayName = "authentication disabled (AUTH_ENABLED=false)", AuthMethod = "none" },
            };
        }

        var principal = context.RequirePrincipal();
        var response = new WhoAmIResponse { Principal = ToProto(principal) };
        if (limits is not null && await limits.BudgetOfAsync(principal, context.CancellationToken) is { } budgets)
        {
            if (budgets.Key is { LimitMicros: not null } key)
            {
                response.KeyBudget = ToProto("key", key);
            }

            response.UserBudget = ToProto("user", budgets.User);
        }

        return response;
    }

    private static BudgetStatus ToProto(string scope, Limits.BudgetUse use)
    {
        var proto = new BudgetStatus
        {
            Scope = scope,
            SpentUsd = use.SpentMicros / 1_000_000d,
            ReservedUsd = use.ReservedMicros / 1_000_000d,
            OpenReservations = use.OpenReservations,
        };
        if (use.LimitMicros is { } limit)
        {
            proto.LimitUsd = limit / 1_000_000d;
            proto.RemainingUsd = use.RemainingMicros!.Value / 1_000_000d;
        }

        return proto;
    }

    public override async Task<ListAuditEventsResponse> ListAuditEvents(ListAuditEventsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > 500)
        {
            throw RpcErrors.InvalidArgument("page_size", "Must be 1 to 500 (0 means 100).");
        }

        var events = await store.ListAuditAsync(request.PageSize == 0 ? 100 : request.PageSize, request.Kind.Length == 0 ? null : request.Kind,
            request.BeforeId > 0 ? request.BeforeId : null, context.CancellationToken);
        var response = new ListAuditEventsResponse();
        foreach (var e in events)
        {
            response.Events.Add(new AuditEvent
            {
                Id = e.Id,
                OccurTime = Timestamp.FromDateTimeOffset(e.OccurredAt),
                Kind = e.Kind,
                PrincipalId = e.PrincipalId ?? "",
                Subject = e.Subject,
                Detail = e.Detail,
            });
        }

        return response;
    }

    public override async Task<EndUserSessionsResponse> EndUserSessions(EndUserSessionsRequest request, ServerCallContext context) =>
        new() { EndedSessions = await identity.EndUserSessionsAsync(context.RequirePrincipal(), request.UserId, context.CancellationToken) };

    private static DeviceAuthorizationState ToState(string state) => state switch
    {
        IdentityService.DevicePending => DeviceAuthorizationState.AuthorizationPending,
        IdentityService.DeviceSlowDown => DeviceAuthorizationState.SlowDown,
        IdentityService.DeviceExpired => DeviceAuthorizationState.ExpiredToken,
        IdentityService.DeviceDenied => DeviceAuthorizationState.AccessDenied,
        IdentityService.DeviceApproved => DeviceAuthorizationState.Approved,
        _ => DeviceAuthorizationState.Unspecified,
    };

    internal static TokenPair ToProto(IssuedTokens tokens) => new()
    {
        AccessToken = tokens.AccessToken,
        TokenType = "Bearer",
        ExpiresIn = Duration.FromTimeSpan(tokens.AccessLifetime),
        RefreshToken = tokens.RefreshToken,
        RefreshExpiresIn = Duration.FromTimeSpan(tokens.RefreshLifetime),
    };

    private static V1.Principal ToProto(UserRecord user, string method, IReadOnlyList<string>? scopes)
    {
        var proto = new V1.Principal { Id = user.Id, Email = user.Email, DisplayName = user.DisplayName, Role = user.Role, AuthMethod = method };
        proto.Scopes.AddRange(scopes ?? Scopes.ForRole(user.Role).Order(StringComparer.Ordinal).ToList());
        return proto;
    }

    private static V1.Principal ToProto(Principal principal)
    {
        var proto = new V1.Principal
        {
            Id = principal.Id,
            Email = principal.Email,
            DisplayName = principal.DisplayName,
            Role = principal.Role,
            AuthMethod = principal.AuthMethod,
            ApiKeyId = principal.ApiKeyId ?? "",
        };
        proto.Scopes.AddRange(principal.Scopes.Order(StringComparer.Ordinal));
        return proto;
    }
}
