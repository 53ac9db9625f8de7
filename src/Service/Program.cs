using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Hosting;

if (GrpcHealthProbe.IsCommand(args))
{
    return await GrpcHealthProbe.RunAsync(args, defaultPort: 50051);
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.Configuration.AddMonkeyCoderEnvironment();
builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 50051, HttpProtocols.Http2);
builder.Services.AddMonkeyCoder(builder.Configuration);

var app = builder.Build();
app.MapMonkeyCoder();
app.Run();
return 0;
