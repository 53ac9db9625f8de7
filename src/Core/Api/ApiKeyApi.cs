using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>ApiKeyService: the caller's API keys. Logic lives in <see cref="ApiKeys"/>.</summary>
internal sealed class ApiKeyApi(ApiKeys keys) : ApiKeyService.ApiKeyServiceBase
{
    public override async Task<CreateApiKeyResponse> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var created = await keys.CreateAsync(context.RequirePrincipal(), request.Name, request.Scopes,
            request.ExpiresIn?.ToTimeSpan(),
            new ApiKeyLimits(request.HasRequestsPerMinute ? request.RequestsPerMinute : null,
                request.HasTokensPerMinute ? request.TokensPerMinute : null,
                request.HasMonthlyBudgetUsd ? request.MonthlyBudgetUsd : null,
                request.AllowedModels.Count > 0 ? request.AllowedModels : null),
            context.CancellationToken);
        return new CreateApiKeyResponse { ApiKey = ToProto(created.Key), Secret = created.Secret };
    }

    public override async Task<ListApiKeysResponse> ListApiKeys(ListApiKeysRequest request, ServerCallContext context)
    {
        var list = await keys.ListAsync(context.RequirePrincipal(), request.AllUsers, request.IncludeRevoked, context.CancellationToken);
        var response = new ListApiKeysResponse();
        response.ApiKeys.AddRange(list.Select(ToProto));
        return response;
    }

    public override async Task<RevokeApiKeyResponse> RevokeApiKey(RevokeApiKeyRequest request, ServerCallContext context) =>
        new() { ApiKey = ToProto(await keys.RevokeAsync(context.RequirePrincipal(), request.KeyId, context.CancellationToken)) };

    private static ApiKey ToProto(ApiKeyRecord key)
    {
        var proto = new ApiKey
        {
            KeyId = key.Id,
            Name = key.Name,
            Prefix = key.Prefix,
            CreateTime = Timestamp.FromDateTimeOffset(key.CreatedAt),
            UserId = key.UserId,
            ParentKeyId = key.ParentKeyId ?? "",
        };
        if (key.AllowedModels is { } allowed)
        {
            proto.AllowedModels.AddRange(allowed);
        }

        proto.Scopes.AddRange(key.Scopes);
        if (key.ExpiresAt is { } expires)
        {
            proto.ExpireTime = Timestamp.FromDateTimeOffset(expires);
        }

        if (key.LastUsedAt is { } used)
        {
            proto.LastUsedTime = Timestamp.FromDateTimeOffset(used);
        }

        if (key.RevokedAt is { } revoked)
        {
            proto.RevokeTime = Timestamp.FromDateTimeOffset(revoked);
        }

        if (key.RequestsPerMinute is { } rpm)
        {
            proto.RequestsPerMinute = rpm;
        }

        if (key.TokensPerMinute is { } tpm)
        {
            proto.TokensPerMinute = tpm;
        }

        if (key.MonthlyBudgetUsd is { } budget)
        {
            proto.MonthlyBudgetUsd = budget;
        }

        return proto;
    }
}
