using Grpc.Core;
using MonkeyCoder.Cli.Configuration;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Connection;

/// <summary>
/// The credential each call carries. An API key (flag, env or file) is sent as is. A device-flow
/// session (access + refresh token in the credentials file) is refreshed shortly before the access
/// token expires: one refresh at a time, the rotated pair written back to the file at once (the
/// server revokes the whole family if an old refresh token is ever presented again).
/// </summary>
internal sealed class BearerToken(CliSettings settings)
{
    /// <summary>Refresh this long before the access token's expiry, so a call never leaves with a token about to lapse.</summary>
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private string? _current = settings.ApiKey;
    private StoredCredentials? _session = settings.Stored is { IsSession: true } stored ? stored : null;

    /// <summary>Refresh is the one call that must not carry the (expired) access token.</summary>
    public static bool Needs(AuthInterceptorContext context) =>
        !(context.MethodName == "Refresh" && context.ServiceUrl.EndsWith("/" + AuthService.Descriptor.FullName, StringComparison.Ordinal));

    public async ValueTask<string?> GetAsync(AuthService.AuthServiceClient auth, CancellationToken cancellationToken)
    {
        if (_session is null || !Expiring(_session))
        {
            return _current;
        }

        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (_session is not null && Expiring(_session))
            {
                _session = await RefreshAsync(auth, _session, cancellationToken);
                _current = _session.AccessToken;
            }

            return _current;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private static bool Expiring(StoredCredentials session) =>
        session.AccessExpiresAt is not { } expires || expires - Skew <= DateTimeOffset.UtcNow;

    private static async Task<StoredCredentials> RefreshAsync(AuthService.AuthServiceClient auth, StoredCredentials session, CancellationToken cancellationToken)
    {
        if (session.RefreshExpiresAt is { } refreshExpires && refreshExpires <= DateTimeOffset.UtcNow)
        {
            throw SessionOver("it expired " + refreshExpires.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
        }

        RefreshResponse response;
        try
        {
            response = await auth.RefreshAsync(new RefreshRequest { RefreshToken = session.RefreshToken }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            throw SessionOver($"the service refused to renew it: {ex.Status.Detail}");
        }

        var renewed = Stored(response.Tokens, session.Email, session.BaseUrl);
        Credentials.Save(renewed);
        return renewed;
    }

    /// <summary>The credentials-file entry for a token pair the service issued.</summary>
    public static StoredCredentials Stored(TokenPair tokens, string? email, string? baseUrl)
    {
        var now = DateTimeOffset.UtcNow;
        return new StoredCredentials
        {
            AccessToken = tokens.AccessToken,
            AccessExpiresAt = now + (tokens.ExpiresIn?.ToTimeSpan() ?? TimeSpan.Zero),
            RefreshToken = tokens.RefreshToken,
            RefreshExpiresAt = tokens.RefreshExpiresIn is { } refresh ? now + refresh.ToTimeSpan() : null,
            Email = email,
            BaseUrl = baseUrl,
            SavedAt = now,
        };
    }

    private static CliException SessionOver(string why) => new(
        ExitCodes.Auth,
        $"your login session is over ({why}). Run `monkey auth login` again.");
}
