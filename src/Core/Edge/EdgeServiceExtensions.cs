using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Edge.Anthropic;
using MonkeyCoder.Core.Edge.OpenAi;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// The REST host's edge: OpenAI-compatible endpoints, CORS, security headers, forwarded headers from
/// trusted proxies, and Kestrel's size and slow-client limits. Only the REST host calls these.
/// </summary>
public static class EdgeServiceExtensions
{
    /// <summary>Headers a browser script may read from responses.</summary>
    private static readonly string[] ExposedHeaders = ["Retry-After", "x-request-id", "grpc-status", "grpc-message"];

    public static IServiceCollection AddMonkeyCoderEdge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsListValidator>();
        services.AddOptions<EdgeOptions>().Bind(configuration.GetSection(EdgeOptions.Section)).ValidateOnStart();

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<EdgeOptions>>((kestrel, edge) =>
        {
            var o = edge.Value;
            var limits = kestrel.Limits;
            limits.MaxRequestBodySize = o.MaxRequestBodyBytes;
            limits.MaxRequestHeadersTotalSize = o.MaxRequestHeadersTotalBytes;
            limits.MaxRequestHeaderCount = o.MaxRequestHeaderCount;
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(o.RequestHeadersTimeoutSeconds);
            limits.KeepAliveTimeout = TimeSpan.FromSeconds(o.KeepAliveTimeoutSeconds);
            limits.MinRequestBodyDataRate = new MinDataRate(o.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(o.MinRequestBodyGraceSeconds));
            limits.MaxConcurrentConnections = o.MaxConcurrentConnections == 0 ? null : o.MaxConcurrentConnections;
        });

        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<EdgeOptions>>((forwarded, edge) =>
        {
            // Host is not taken from proxies: links and redirects are not built from it, and it is spoofable.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            var proxies = edge.Value.ParseProxies();
            var networks = edge.Value.ParseNetworks();
            if (proxies.Count > 0 || networks.Count > 0)
            {
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                foreach (var proxy in proxies)
                {
                    forwarded.KnownProxies.Add(proxy);
                }

                foreach (var network in networks)
                {
                    forwarded.KnownIPNetworks.Add(network);
                }
            }
        });

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<EdgeOptions>>((cors, edge) =>
        {
            var o = edge.Value;
            cors.AddDefaultPolicy(policy =>
            {
                // No origins configured: the policy matches nobody, so no CORS header is ever sent.
                policy.WithOrigins([.. o.ParseOrigins()])
                    .WithMethods("GET", "POST", "DELETE")
                    .AllowAnyHeader()
                    .WithExposedHeaders(ExposedHeaders)
                    .SetPreflightMaxAge(TimeSpan.FromSeconds(o.CorsMaxAgeSeconds));
            });
        });

        services.AddSingleton<OpenAiChatService>();
        services.AddSingleton<ResponsesService>();
        services.AddSingleton<Providers.Embeddings.EmbeddingClient>();
        services.AddSingleton<Providers.Embeddings.EmbeddingService>();
        services.AddSingleton<OpenAiEndpoints>();
        services.AddSingleton<OpenAiCallFilter>();
        services.AddSingleton<AnthropicMessagesService>();
        services.AddSingleton<AnthropicEndpoints>();
        services.AddSingleton<AnthropicCallFilter>();
        return services;
    }

    /// <summary>
    /// Forwarded headers (trusted proxies only) → security headers → oversize refusal → CORS. Call
    /// before mapping endpoints.
    /// </summary>
    public static IApplicationBuilder UseMonkeyCoderEdge(this IApplicationBuilder app)
    {
        app.UseForwardedHeaders();
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.Use(RefuseOversizeBodies);
        app.UseCors();
        return app;
    }

    /// <summary>Maps the OpenAI-compatible endpoints (see <see cref="OpenAiEndpoints"/>).</summary>
    public static IEndpointRouteBuilder MapMonkeyCoderOpenAi(this IEndpointRouteBuilder endpoints) => OpenAiEndpoints.Map(endpoints);

    /// <summary>Maps the Anthropic Messages endpoints (see <see cref="AnthropicEndpoints"/>).</summary>
    public static IEndpointRouteBuilder MapMonkeyCoderAnthropic(this IEndpointRouteBuilder endpoints) => AnthropicEndpoints.Map(endpoints);

    /// <summary>
    /// A declared Content-Length over the limit is answered 413 at once, in the error shape of the
    /// path (OpenAI's under the OpenAI routes, Anthropic's under the Anthropic routes, google.rpc.Status elsewhere); bodies without a length
    /// are cut by Kestrel's own limit while being read.
    /// </summary>
    private static async Task RefuseOversizeBodies(HttpContext context, RequestDelegate next)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<EdgeOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength is not { } length || length <= limit)
        {
            await next(context);
            return;
        }

        // The body is not read: close the connection rather than drain a body we refused.
        context.Response.Headers.Connection = "close";
        if (context.Request.Path.StartsWithSegments(AnthropicEndpoints.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            await AnthropicEndpoints.WriteErrorAsync(context, AnthropicErrors.BodyTooLarge(limit));
            return;
        }

        if (IsOpenAiPath(context.Request.Path))
        {
            await OpenAiEndpoints.WriteErrorAsync(context, OpenAiErrors.BodyTooLarge(limit));
            return;
        }

        var status = new Google.Rpc.Status
        {
            Code = (int)Grpc.Core.StatusCode.InvalidArgument,
            Message = string.Create(CultureInfo.InvariantCulture, $"The request body is larger than {limit} bytes."),
            Details = { Google.Protobuf.WellKnownTypes.Any.Pack(new Google.Rpc.ErrorInfo { Reason = "REQUEST_TOO_LARGE", Domain = RpcErrors.Domain }) },
        };
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(StatusFormatter.Format(status), context.RequestAborted);
    }

    private static readonly JsonFormatter StatusFormatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(RpcErrors.DetailTypes));

    internal static bool IsOpenAiPath(PathString path) =>
        path.StartsWithSegments(OpenAiEndpoints.Prefix, StringComparison.OrdinalIgnoreCase)
        || path.Equals("/v1/chat/completions", StringComparison.OrdinalIgnoreCase);
}
