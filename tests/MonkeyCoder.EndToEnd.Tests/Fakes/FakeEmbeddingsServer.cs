using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>
/// Embeddings endpoints as the providers document them: OpenAI <c>POST /v1/embeddings</c>
/// (<c>Authorization: Bearer</c>; <c>{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage":{"prompt_tokens","total_tokens"}}</c>)
/// and Gemini <c>POST /v1beta/models/{model}:batchEmbedContents</c> (<c>x-goog-api-key</c>;
/// <c>{"embeddings":[{"values":[…]}]}</c>, no token counts). Vectors are a pure function of the text,
/// so a test can check each input got its own vector in order. Kept apart from the chat fakes.
/// </summary>
public sealed class FakeEmbeddingsServer : IAsyncDisposable
{
    private WebApplication? _app;

    public string OpenAiKey { get; } = "sk-embed-" + Guid.NewGuid().ToString("N");

    public string GeminiKey { get; } = "gk-embed-" + Guid.NewGuid().ToString("N");

    /// <summary>Prompt tokens the OpenAI route reports per input.</summary>
    public int TokensPerInput { get; set; } = 7;

    public Uri Root { get; private set; } = null!;

    public ConcurrentQueue<(string Path, JsonElement Body)> Requests { get; } = new();

    /// <summary>The vector the fake answers for <paramref name="text"/> (3 values).</summary>
    public static float[] VectorOf(string text) => [text.Length, text.Length > 0 ? text[0] : 0, text.Sum(c => (float)c) % 1000];

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Root = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    private async Task HandleAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            // The gateway's health probe lists models: these fakes serve embeddings only.
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("""{"error":{"message":"not found"}}""");
            return;
        }

        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var body = document.RootElement.Clone();
        Requests.Enqueue((context.Request.Path.Value ?? "", body));
        if (context.Request.Path == "/v1/embeddings")
        {
            if (context.Request.Headers.Authorization.ToString() != "Bearer " + OpenAiKey)
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsync("""{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
                return;
            }

            var inputs = body.GetProperty("input").EnumerateArray().Select(e => e.GetString()!).ToList();
            var data = inputs.Select((t, i) => $"{{\"object\":\"embedding\",\"index\":{i},\"embedding\":{JsonSerializer.Serialize(VectorOf(t))}}}");
            var tokens = inputs.Count * TokensPerInput;
            var usage = "{\"prompt_tokens\":" + tokens + ",\"total_tokens\":" + tokens + "}";
            await context.Response.WriteAsync("{\"object\":\"list\",\"data\":[" + string.Join(',', data) + "],\"model\":"
                + JsonSerializer.Serialize(body.GetProperty("model").GetString()) + ",\"usage\":" + usage + "}");
            return;
        }

        if (context.Request.Path.Value is { } path && path.StartsWith("/v1beta/models/", StringComparison.Ordinal) && path.EndsWith(":batchEmbedContents", StringComparison.Ordinal))
        {
            if (context.Request.Headers["x-goog-api-key"].ToString() != GeminiKey)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}""");
                return;
            }

            var vectors = body.GetProperty("requests").EnumerateArray()
                .Select(r => JsonSerializer.Serialize(VectorOf(r.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString()!)));
            var items = string.Join(',', vectors.Select(v => "{\"values\":" + v + "}"));
            await context.Response.WriteAsync("{\"embeddings\":[" + items + "]}");
            return;
        }

        context.Response.StatusCode = 404;
        await context.Response.WriteAsync("""{"error":{"message":"not found"}}""");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
