using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Gateway;

if (HttpHealthProbe.IsCommand(args))
{
    return await HttpHealthProbe.RunAsync(args, defaultPort: 8080);
}

// Content root = the binary's folder: its appsettings.json applies whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddMonkeyCoderEnvironment();
// A bad setting: one line per setting (variable, key, value, what is allowed), exit 2, no stack trace.
try
{
    builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 8080, HttpProtocols.Http1);
    // /metrics on its own port (not the public one); health stays on the main port.
    builder.WebHost.UseMonkeyCoderMetricsListener(builder.Configuration, defaultPort: 9465, serveHealth: false);
    builder.Services.AddMonkeyCoder(builder.Configuration).AddJsonTranscoding(o => o.TypeRegistry = RpcErrors.DetailTypes);
    builder.Services.AddMonkeyCoderEdge(builder.Configuration);
    var docs = builder.Configuration.GetValue(EdgeOptions.Section + ":DocsEnabled", true);
    if (docs)
    {
        builder.Services.AddMonkeyCoderApiDocs();
    }

    var app = builder.Build();
    app.UseMonkeyCoderEdge();
    if (docs)
    {
        app.MapMonkeyCoderApiDocs();
    }

    app.MapMonkeyCoderHttpHealth();
    app.MapMonkeyCoder();
    app.MapMonkeyCoderObservability();
    app.MapMonkeyCoderOpenAi();
    app.MapMonkeyCoderAnthropic();
    app.MapMonkeyCoderDevicePage();
    return await app.RunMonkeyCoderAsync();
}
catch (Exception ex) when (ConfigurationErrors.IsConfigurationError(ex))
{
    return ConfigurationErrors.Report(ex, builder.Configuration, Console.Error);
}
