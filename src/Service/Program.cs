using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Observability;

if (GrpcHealthProbe.IsCommand(args))
{
    return await GrpcHealthProbe.RunAsync(args, defaultPort: 50051);
}

// Content root = the binary's folder: its appsettings.json applies whatever the working directory.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddMonkeyCoderEnvironment();
if (args is ["migrate", ..])
{
    // `monkey-coder-service migrate`: apply the database migrations to DATABASE_URL and exit.
    return await MonkeyCoder.Core.Storage.StorageServiceExtensions.RunMigrateCommandAsync(builder.Configuration, Console.Out);
}

if (MonkeyCoder.Core.Usage.UsageSpillCommand.IsCommand(args))
{
    // `monkey-coder-service usage spill list|replay`: inspect or replay spilled usage for DATABASE_URL.
    return await MonkeyCoder.Core.Usage.UsageSpillCommand.RunAsync(args, builder.Configuration, Console.Out);
}

// A bad setting: one line per setting (variable, key, value, what is allowed), exit 2, no stack trace.
try
{
    builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 50051, HttpProtocols.Http2);
    builder.WebHost.UseMonkeyCoderMetricsListener(builder.Configuration);
    builder.Services.AddMonkeyCoder(builder.Configuration);

    var app = builder.Build();
    app.MapMonkeyCoder();
    app.MapMonkeyCoderObservability();
    return await app.RunMonkeyCoderAsync();
}
catch (Exception ex) when (ConfigurationErrors.IsConfigurationError(ex))
{
    return ConfigurationErrors.Report(ex, builder.Configuration, Console.Error);
}
