using Microsoft.OpenApi.Models;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Edge;

namespace MonkeyCoder.Gateway;

/// <summary>
/// The OpenAPI document generated from the protos' HTTP bindings and comments
/// (<c>/swagger/v1/swagger.json</c>) and Swagger UI at <c>/docs</c>. JIT-only (Swashbuckle reflects),
/// which is why it lives in this host and not in Core.
/// </summary>
internal static class ApiDocs
{
    public const string DocumentPath = "/swagger/v1/swagger.json";

    public static IServiceCollection AddMonkeyCoderApiDocs(this IServiceCollection services)
    {
        services.AddGrpcSwagger();
        // AddGrpcSwagger calls AddGrpc again, which registers grpc-dotnet's reflection binder anew:
        // bind the Monkey Coder services through the malformed-request guard only (once per route).
        services.AddMonkeyCoderMalformedRequestGuard();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Monkey Coder",
                Version = "v1",
                Description = "JSON transcoding of the monkeycoder.v1 gRPC services (errors are google.rpc.Status JSON). "
                    + "The OpenAI-compatible endpoints live under /openai/v1 (chat/completions, models) and are described in docs/rest.md.",
            });
            // Proto comments become XML docs in the contracts assembly; use them as descriptions.
            var xml = Path.Combine(AppContext.BaseDirectory, "MonkeyCoder.Contracts.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
                options.IncludeGrpcXmlComments(xml, includeControllerXmlComments: true);
            }
        });
        return services;
    }

    public static WebApplication MapMonkeyCoderApiDocs(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.RoutePrefix = SecurityHeadersMiddleware.DocsPath.TrimStart('/');
            options.SwaggerEndpoint(DocumentPath, "Monkey Coder v1");
            options.DocumentTitle = "Monkey Coder API";
        });
        return app;
    }
}
