using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Hosting;

if (HttpHealthProbe.IsCommand(args))
{
    return await HttpHealthProbe.RunAsync(args, defaultPort: 8080);
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddMonkeyCoderEnvironment();
builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 8080, HttpProtocols.Http1);
builder.Services.AddMonkeyCoder(builder.Configuration).AddJsonTranscoding(o => o.TypeRegistry = RpcErrors.DetailTypes);

var app = builder.Build();
app.MapMonkeyCoderHttpHealth();
app.MapMonkeyCoder();
app.Run();
return 0;
