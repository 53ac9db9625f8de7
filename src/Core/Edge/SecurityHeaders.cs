using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// Adds the browser-safety headers to every response, errors and 404s included (set when the
/// response starts, so no later component can skip them). The API serves JSON only, so its CSP
/// allows nothing; the documentation page gets a CSP that lets Swagger UI load its own script,
/// styles and the OpenAPI document, and nothing from elsewhere.
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next, IOptions<EdgeOptions> options)
{
    /// <summary>The API answers JSON; nothing may load, run or frame it.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Swagger UI: its own script and styles (it sets inline styles), images as data: URIs, fetches to this host only.</summary>
    public const string DocsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Path prefix of the documentation page (Swagger UI).</summary>
    public const string DocsPath = "/docs";

    private readonly string _hsts = string.Create(CultureInfo.InvariantCulture, $"max-age={options.Value.HstsMaxAgeSeconds}; includeSubDomains");

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var (http, hsts) = ((HttpContext, string))state;
            Apply(http, hsts);
            return Task.CompletedTask;
        }, (context, _hsts));
        return next(context);
    }

    /// <summary>Sets the headers on one response. HSTS only when the request arrived over HTTPS (directly, or per a trusted proxy).</summary>
    public static void Apply(HttpContext context, string hsts)
    {
        var headers = context.Response.Headers;
        var path = context.Request.Path;
        headers.ContentSecurityPolicy = path.StartsWithSegments(DocsPath, StringComparison.OrdinalIgnoreCase) ? DocsPolicy
            : path.StartsWithSegments(DevicePage.Path, StringComparison.OrdinalIgnoreCase) ? DevicePage.Policy
            : ApiPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Permissions-Policy"] = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = hsts;
        }
    }
}
