using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace MonkeyCoder.Core.Auth;

/// <summary>The claims an access token carries. Scopes: the session's when narrower than the role's (claim <c>scope</c>, space-separated); null = the role's.</summary>
internal sealed record AccessTokenClaims(string UserId, string Email, string DisplayName, string Role, string SessionFamily, double? UserMonthlyBudgetUsd,
    int? UserRequestsPerMinute = null, int? UserTokensPerMinute = null, IReadOnlyList<string>? Scopes = null);

/// <summary>Why a bearer token was refused.</summary>
internal enum AccessTokenFailure
{
    None,
    Invalid,
    Expired,
}

/// <summary>
/// Short-lived HS256 JWT access tokens (<see cref="JsonWebTokenHandler"/>): issuer, audience,
/// lifetime and signature are validated on every call. The signing key is <c>JWT_SECRET_KEY</c>, or
/// a random per-process key outside production.
/// </summary>
internal sealed class AccessTokens
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SymmetricSecurityKey _key;
    private readonly SigningCredentials _signing;
    private readonly TokenValidationParameters _validation;
    private readonly AuthOptions _options;
    private readonly TimeProvider _time;

    public AccessTokens(IOptions<AuthOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        var secret = _options.JwtSecretKey is { Length: > 0 } configured ? Encoding.UTF8.GetBytes(configured) : RandomNumberGenerator.GetBytes(32);
        IsEphemeralKey = _options.JwtSecretKey is not { Length: > 0 };
        _key = new SymmetricSecurityKey(secret) { KeyId = "hs256-1" };
        _signing = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>True when no JWT_SECRET_KEY was configured and tokens are signed with a per-process key.</summary>
    public bool IsEphemeralKey { get; }

    public TimeSpan Lifetime => TimeSpan.FromMinutes(_options.AccessTokenMinutes);

    /// <summary>A signed token for <paramref name="claims"/>, valid for <paramref name="lifetime"/> when the session ends before <see cref="Lifetime"/>.</summary>
    public string Issue(AccessTokenClaims claims, TimeSpan? lifetime = null)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var values = new Dictionary<string, object>
        {
            ["sub"] = claims.UserId,
            ["email"] = claims.Email,
            ["name"] = claims.DisplayName,
            ["role"] = claims.Role,
            ["sid"] = claims.SessionFamily,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (claims.Scopes is { } scopes)
        {
            values["scope"] = string.Join(' ', scopes);
        }

        if (claims.UserMonthlyBudgetUsd is { } budget)
        {
            values["mk_budget"] = budget;
        }

        if (claims.UserRequestsPerMinute is { } rpm)
        {
            values["mk_rpm"] = rpm;
        }

        if (claims.UserTokensPerMinute is { } tpm)
        {
            values["mk_tpm"] = tpm;
        }

        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime is { } l && l < Lifetime ? l : Lifetime),
            Claims = values,
            SigningCredentials = _signing,
        });
    }

    public async Task<(AccessTokenClaims? Claims, AccessTokenFailure Failure)> ValidateAsync(string token)
    {
        if (!_handler.CanReadToken(token))
        {
            return (null, AccessTokenFailure.Invalid);
        }

        var result = await _handler.ValidateTokenAsync(token, _validation);
        if (!result.IsValid)
        {
            return (null, result.Exception is SecurityTokenExpiredException ? AccessTokenFailure.Expired : AccessTokenFailure.Invalid);
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        string Claim(string type) => jwt.TryGetPayloadValue<string>(type, out var value) ? value : "";
        double? budget = jwt.TryGetPayloadValue<double>("mk_budget", out var b) ? b : null;
        int? rpm = jwt.TryGetPayloadValue<int>("mk_rpm", out var r) ? r : null;
        int? tpm = jwt.TryGetPayloadValue<int>("mk_tpm", out var t) ? t : null;
        var role = Claim("role");
        if (jwt.Subject is not { Length: > 0 } subject || !Scopes.IsRole(role))
        {
            return (null, AccessTokenFailure.Invalid);
        }

        IReadOnlyList<string>? scopes = jwt.TryGetPayloadValue<string>("scope", out var scope)
            ? scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : null;
        return (new AccessTokenClaims(subject, Claim("email"), Claim("name"), role, Claim("sid"), budget, rpm, tpm, scopes), AccessTokenFailure.None);
    }
}
