using Microsoft.AspNetCore.Server.Kestrel.Core;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Observability;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Configuration.AddMonkeyCoderEnvironment();
builder.WebHost.UseMonkeyCoderKestrel(builder.Configuration, defaultPort: 50051, HttpProtocols.Http2);
builder.WebHost.UseMonkeyCoderMetricsListener(builder.Configuration);
builder.Services.AddMonkeyCoder(builder.Configuration);

var app = builder.Build();
app.MapMonkeyCoder();
app.MapMonkeyCoderObservability();
app.Run();
