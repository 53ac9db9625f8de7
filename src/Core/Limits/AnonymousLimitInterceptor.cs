using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using MonkeyCoder.Core.Api;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Runs first for the anonymous sign-in RPCs (SignUp, Login, Refresh, Logout and the device flow):
/// refuses a client address or account email over its limit with RESOURCE_EXHAUSTED + RetryInfo
/// (reason <see cref="Reason"/>) and a <c>retry-after</c> header (HTTP 429 through the REST host)
/// before any password is hashed or the store is touched.
/// </summary>
internal sealed class AnonymousLimitInterceptor(AnonymousLimiter limiter) : Interceptor
{
    public const string Reason = "SIGN_IN_RATE_LIMITED";

    /// <summary>The RPCs limited here: every anonymous AuthService call.</summary>
    private static readonly HashSet<string> Limited = new(StringComparer.Ordinal)
    {
        "/monkeycoder.v1.AuthService/SignUp",
        "/monkeycoder.v1.AuthService/Login",
        "/monkeycoder.v1.AuthService/Refresh",
        "/monkeycoder.v1.AuthService/Logout",
        "/monkeycoder.v1.AuthService/StartDeviceAuthorization",
        "/monkeycoder.v1.AuthService/PollDeviceAuthorization",
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (Limited.Contains(context.Method))
        {
            var account = request switch
            {
                LoginRequest login => login.Email,
                SignUpRequest signUp => signUp.Email,
                _ => null,
            };
            var http = context.GetHttpContext();
            if (await limiter.RefuseAsync(context.Method, http?.Connection.RemoteIpAddress, account, context.CancellationToken) is { } wait)
            {
                if (http is { Response.HasStarted: false })
                {
                    http.Response.Headers["retry-after"] = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                throw RpcErrors.ResourceExhausted(Reason, AnonymousLimiter.Message(wait), wait, new Dictionary<string, string> { ["method"] = context.Method });
            }
        }

        return await continuation(request, context);
    }
}
