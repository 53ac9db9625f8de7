using System.Globalization;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// Limits the anonymous sign-in operations (SignUp, Login, Refresh, Logout and the device flow) per
/// client address and account email: RESOURCE_EXHAUSTED + RetryInfo (reason <see cref="Reason"/>) and
/// a <c>retry-after</c> header (HTTP 429 through the REST host), before authentication, so before any
/// password is hashed or the store is touched.
/// </summary>
internal sealed class SignInLimitStep(AnonymousLimiter limiter) : ICallStep
{
    public const string Reason = "SIGN_IN_RATE_LIMITED";

    /// <summary>The operations limited here: every anonymous AuthService call.</summary>
    private static readonly HashSet<string> Limited = new(StringComparer.Ordinal)
    {
        "/monkeycoder.v1.AuthService/SignUp",
        "/monkeycoder.v1.AuthService/Login",
        "/monkeycoder.v1.AuthService/Refresh",
        "/monkeycoder.v1.AuthService/Logout",
        "/monkeycoder.v1.AuthService/StartDeviceAuthorization",
        "/monkeycoder.v1.AuthService/PollDeviceAuthorization",
    };

    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        if (Limited.Contains(call.Operation))
        {
            var account = call.Request switch
            {
                LoginRequest login => login.Email,
                SignUpRequest signUp => signUp.Email,
                _ => null,
            };
            if (await limiter.RefuseAsync(call.Operation, call.ClientAddress, account, call.CancellationToken) is { } wait)
            {
                if (call.Response is { HasStarted: false } response)
                {
                    response.Headers["retry-after"] = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                throw RpcErrors.ResourceExhausted(Reason, AnonymousLimiter.Message(wait), wait, new Dictionary<string, string> { ["method"] = call.Operation });
            }
        }

        await next(call);
    }
}
