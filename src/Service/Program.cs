using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Hosting;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Configuration.AddMonkeyCoderEnvironment();
builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 50051, HttpProtocols.Http2);
if (args is ["migrate", ..])
{
    // `monkey-coder-service migrate`: apply the database migrations to DATABASE_URL and exit.
    return await MonkeyCoder.Core.Storage.StorageServiceExtensions.RunMigrateCommandAsync(builder.Configuration, Console.Out);
}

builder.Services.AddMonkeyCoder(builder.Configuration);

var app = builder.Build();
app.MapMonkeyCoder();
await app.RunAsync();
return 0;
