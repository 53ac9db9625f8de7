using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// The device-approval page (RFC 8628 "verification URI"; AUTH_VERIFICATION_URI points here by
/// default): a user signs in and approves or denies the code `monkey auth login` shows. Plain HTML,
/// one stylesheet and one script from this host (its CSP allows nothing else); the script calls the
/// same transcoded RPCs any client would (POST /v1/auth/login, then /v1/auth/device:approve with the
/// access token), keeps the token in memory only and never stores the password.
/// </summary>
public static class DevicePage
{
    /// <summary>Path prefix of the page and its assets.</summary>
    public const string Path = "/device";

    /// <summary>Its own script and stylesheet, fetches to this host, nothing framed, no forms posted elsewhere.</summary>
    public const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static IEndpointRouteBuilder MapMonkeyCoderDevicePage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, new RequestDelegate(ServePageAsync)).WithDisplayName("Device approval page");
        endpoints.MapGet(Path + "/app.js", new RequestDelegate(c => Serve(c, "text/javascript; charset=utf-8", Script))).WithDisplayName("Device approval script");
        endpoints.MapGet(Path + "/app.css", new RequestDelegate(c => Serve(c, "text/css; charset=utf-8", Css))).WithDisplayName("Device approval styles");
        return endpoints;
    }

    /// <summary>The page, limited per client address like the sign-in RPCs it calls (429 + Retry-After beyond).</summary>
    private static async Task ServePageAsync(HttpContext context)
    {
        var limiter = context.RequestServices.GetService(typeof(Limits.AnonymousLimiter)) as Limits.AnonymousLimiter;
        if (limiter is not null && await limiter.RefuseAsync("/device", context.Connection.RemoteIpAddress, null, context.RequestAborted) is { } wait)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(Limits.AnonymousLimiter.Message(wait), context.RequestAborted);
            return;
        }

        await Serve(context, "text/html; charset=utf-8", Html);
    }

    private static Task Serve(HttpContext context, string contentType, string body)
    {
        context.Response.ContentType = contentType;
        // Credentials are typed here: never cache the page or let it be stored by intermediaries.
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    private const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Monkey Coder · approve a device</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/device/app.css">
        <script src="/device/app.js" defer></script>
        </head>
        <body>
        <main>
        <h1>Approve a device</h1>
        <p>A terminal running <code>monkey auth login</code> shows a code. Check it matches, sign in, and approve it:
        that device then acts as you until you log it out.</p>
        <form id="approve" autocomplete="on">
        <label>Code <input id="user_code" name="user_code" required autocomplete="off" spellcheck="false" placeholder="ABCD-EFGH"></label>
        <label>Email <input id="email" name="email" type="email" required autocomplete="username"></label>
        <label>Password <input id="password" name="password" type="password" required autocomplete="current-password"></label>
        <div class="actions">
        <button type="submit" id="allow">Approve</button>
        <button type="button" id="deny" class="secondary">Deny</button>
        </div>
        </form>
        <p id="result" role="status" aria-live="polite"></p>
        </main>
        </body>
        </html>
        """;

    private const string Script = """
        "use strict";
        // Signs in through the transcoded AuthService and approves (or denies) the device code.
        // The access token lives in this function's scope only; nothing is written to storage.
        document.addEventListener("DOMContentLoaded", () => {
          const form = document.getElementById("approve");
          const code = document.getElementById("user_code");
          const result = document.getElementById("result");
          const given = new URLSearchParams(location.search).get("user_code");
          if (given) code.value = given;

          async function call(path, body, token) {
            const headers = { "content-type": "application/json" };
            if (token) headers.authorization = "Bearer " + token;
            const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), credentials: "omit", cache: "no-store" });
            const json = await response.json().catch(() => ({}));
            if (!response.ok) throw new Error(json.message || ("HTTP " + response.status));
            return json;
          }

          async function submit(deny) {
            if (!form.reportValidity()) return;
            result.className = "";
            result.textContent = "Signing in…";
            try {
              const login = await call("/v1/auth/login", {
                email: document.getElementById("email").value,
                password: document.getElementById("password").value,
              });
              document.getElementById("password").value = "";
              const approval = await call("/v1/auth/device:approve", { userCode: code.value.trim(), deny }, login.tokens.accessToken);
              const denied = approval.state === "DEVICE_AUTHORIZATION_STATE_ACCESS_DENIED";
              result.className = "ok";
              result.textContent = denied
                ? "Denied. That device will not be signed in."
                : "Approved. Return to your terminal: it finishes signing in within a few seconds.";
            } catch (error) {
              result.className = "error";
              result.textContent = "Not approved: " + error.message;
            }
          }

          form.addEventListener("submit", (event) => { event.preventDefault(); submit(false); });
          document.getElementById("deny").addEventListener("click", () => submit(true));
        });
        """;

    private const string Css = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1c1e21; }
        main { max-width: 28rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
        h1 { font-size: 1.4rem; margin-top: 0; }
        label { display: block; margin: .8rem 0; font-weight: 600; }
        input { display: block; width: 100%; box-sizing: border-box; margin-top: .3rem; padding: .5rem; font-size: 1rem; }
        #user_code { font-family: ui-monospace, monospace; letter-spacing: .15em; text-transform: uppercase; }
        .actions { display: flex; gap: .6rem; margin-top: 1.2rem; }
        button { padding: .55rem 1.2rem; font-size: 1rem; border: 0; border-radius: 4px; background: #2457d6; color: #fff; cursor: pointer; }
        button.secondary { background: #e4e6eb; color: #1c1e21; }
        .ok { color: #146c2e; }
        .error { color: #b3261e; }
        """;
}
