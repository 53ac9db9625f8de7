using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// UserService: admins manage users (role, disabled, limits, monthly budget). Every change is an
/// audit event ("user.updated", detail naming what changed). Admin scope is checked by the auth
/// interceptor (<see cref="Scopes.ByMethod"/>).
/// </summary>
internal sealed class UserApi(IIdentityStore store, AuditTrail audit) : UserService.UserServiceBase
{
    public override async Task<ListUsersResponse> ListUsers(ListUsersRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > 500)
        {
            throw RpcErrors.InvalidArgument("page_size", "Must be 1 to 500 (0 means 100).");
        }

        var users = await store.ListUsersAsync(request.PageSize == 0 ? 100 : request.PageSize, context.CancellationToken);
        var response = new ListUsersResponse();
        response.Users.AddRange(users.Select(ToProto));
        return response;
    }

    public override async Task<UpdateUserResponse> UpdateUser(UpdateUserRequest request, ServerCallContext context)
    {
        var caller = context.RequirePrincipal();
        var violations = new List<Google.Rpc.BadRequest.Types.FieldViolation>();
        if (string.IsNullOrWhiteSpace(request.UserId))
        {
            violations.Add(new() { Field = "user_id", Description = "Required." });
        }

        if (request.HasRole && !Scopes.IsRole(request.Role))
        {
            violations.Add(new() { Field = "role", Description = "Must be admin, developer or viewer." });
        }

        if (request.HasRequestsPerMinute && request.RequestsPerMinute is < 0 or > 10_000_000)
        {
            violations.Add(new() { Field = "requests_per_minute", Description = "Must be 1 to 10,000,000 (0 clears it)." });
        }

        if (request.HasTokensPerMinute && request.TokensPerMinute < 0)
        {
            violations.Add(new() { Field = "tokens_per_minute", Description = "Must be at least 1 (0 clears it)." });
        }

        if (request.HasMonthlyBudgetUsd && !(double.IsFinite(request.MonthlyBudgetUsd) && request.MonthlyBudgetUsd is >= 0 and <= ApiKeys.MaxBudgetUsd))
        {
            violations.Add(new() { Field = "monthly_budget_usd", Description = "Must be a finite number from 0 to 1e9." });
        }

        if (request.HasMonthlyBudgetUsd && request.ClearMonthlyBudget)
        {
            violations.Add(new() { Field = "clear_monthly_budget", Description = "Set either monthly_budget_usd or clear_monthly_budget, not both." });
        }

        if (request.UserId == caller.Id && ((request.HasRole && request.Role != Scopes.Roles.AdminRole) || (request.HasDisabled && request.Disabled)))
        {
            // An admin cannot lock itself out by accident; another admin can.
            violations.Add(new() { Field = request.HasRole ? "role" : "disabled", Description = "An admin cannot demote or disable itself." });
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        var update = new UserUpdate(
            request.HasRole ? request.Role : null,
            request.HasDisabled ? request.Disabled : null,
            request.HasRequestsPerMinute ? new LimitChange<int>(request.RequestsPerMinute == 0 ? null : request.RequestsPerMinute) : null,
            request.HasTokensPerMinute ? new LimitChange<int>(request.TokensPerMinute == 0 ? null : request.TokensPerMinute) : null,
            request.HasMonthlyBudgetUsd ? new LimitChange<double>(request.MonthlyBudgetUsd) : request.ClearMonthlyBudget ? new LimitChange<double>(null) : null);
        var user = await store.UpdateUserAsync(request.UserId, update, context.CancellationToken)
            ?? throw RpcErrors.NotFound(AuthReasons.UserNotFound, $"No user '{request.UserId}'.");
        await audit.WriteAsync(AuditKinds.UserUpdated, caller.Id, user.Id, Describe(request));
        return new UpdateUserResponse { User = ToProto(user) };
    }

    /// <summary>What changed, for the audit event (values only, never a secret).</summary>
    private static string Describe(UpdateUserRequest request)
    {
        var parts = new List<string>();
        if (request.HasRole)
        {
            parts.Add("role " + request.Role);
        }

        if (request.HasDisabled)
        {
            parts.Add(request.Disabled ? "disabled" : "enabled");
        }

        if (request.HasRequestsPerMinute)
        {
            parts.Add("requests_per_minute " + (request.RequestsPerMinute == 0 ? "default" : request.RequestsPerMinute.ToString(CultureInfo.InvariantCulture)));
        }

        if (request.HasTokensPerMinute)
        {
            parts.Add("tokens_per_minute " + (request.TokensPerMinute == 0 ? "default" : request.TokensPerMinute.ToString(CultureInfo.InvariantCulture)));
        }

        if (request.HasMonthlyBudgetUsd)
        {
            parts.Add("monthly_budget_usd " + request.MonthlyBudgetUsd.ToString(CultureInfo.InvariantCulture));
        }

        if (request.ClearMonthlyBudget)
        {
            parts.Add("monthly_budget_usd default");
        }

        return parts.Count == 0 ? "no change" : string.Join("; ", parts);
    }

    internal static User ToProto(UserRecord user)
    {
        var proto = new User
        {
            UserId = user.Id,
            Email = user.Email,
            DisplayName = user.DisplayName,
            Role = user.Role,
            Disabled = user.Disabled,
            CreateTime = Timestamp.FromDateTimeOffset(user.CreatedAt),
        };
        if (user.RequestsPerMinute is { } rpm)
        {
            proto.RequestsPerMinute = rpm;
        }

        if (user.TokensPerMinute is { } tpm)
        {
            proto.TokensPerMinute = tpm;
        }

        if (user.MonthlyBudgetUsd is { } budget)
        {
            proto.MonthlyBudgetUsd = budget;
        }

        return proto;
    }
}
