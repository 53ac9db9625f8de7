using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Core.Providers.Embeddings;

/// <summary>
/// Calls a provider's embeddings endpoint for a catalog embedding model, by the provider's protocol:
/// OpenAI-compatible <c>POST {base}/embeddings</c> (<c>Authorization: Bearer</c>) or Gemini
/// <c>POST {base}/v1beta/models/{model}:batchEmbedContents</c> (<c>x-goog-api-key</c>). Kept apart
/// from the chat protocol clients: an embedding is one request and one answer, no stream, no tools.
/// Upstream failures become google.rpc.Status errors without the key or the upstream's URL.
/// </summary>
internal sealed class EmbeddingClient(IOptionsMonitor<ProviderEndpointOptions> options, ModelCatalog catalog, TokenCounter tokens) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<EmbeddingResult> EmbedAsync(CatalogEmbeddingModel model, IReadOnlyList<string> inputs, int? dimensions, CancellationToken cancellationToken)
    {
        var endpoint = options.Get(model.Provider);
        var provider = catalog.FindProvider(model.Provider);
        var protocol = (endpoint.Protocol ?? provider?.Protocol ?? "openai").ToLowerInvariant();
        var baseUrl = string.IsNullOrWhiteSpace(endpoint.BaseUrl) ? provider?.BaseUrl : endpoint.BaseUrl;
        if (string.IsNullOrWhiteSpace(baseUrl) || !Uri.TryCreate(baseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var root))
        {
            throw RpcErrors.Create(StatusCode.FailedPrecondition, "PROVIDER_NOT_CONFIGURED", $"Provider '{model.Provider}' has no base URL.");
        }

        var key = string.IsNullOrWhiteSpace(endpoint.ApiKey) ? null : endpoint.ApiKey.Trim();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(endpoint.RequestTimeoutSeconds));
        return protocol switch
        {
            "gemini" => await GeminiAsync(root, key, model, inputs, dimensions, timeout.Token),
            "openai" => await OpenAiAsync(root, key, model, inputs, dimensions, timeout.Token),
            _ => throw RpcErrors.Create(StatusCode.FailedPrecondition, "EMBEDDINGS_NOT_SUPPORTED",
                $"Provider '{model.Provider}' ({protocol}) has no embeddings endpoint Monkey Coder can call."),
        };
    }

    private async Task<EmbeddingResult> OpenAiAsync(Uri root, string? key, CatalogEmbeddingModel model, IReadOnlyList<string> inputs, int? dimensions, CancellationToken cancellationToken)
    {
        var body = Json(writer =>
        {
            writer.WriteString("model", model.Id);
            writer.WriteStartArray("input");
            foreach (var input in inputs)
            {
                writer.WriteStringValue(input);
            }

            writer.WriteEndArray();
            writer.WriteString("encoding_format", "float");
            if (dimensions is { } d)
            {
                writer.WriteNumber("dimensions", d);
            }
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, "embeddings")) { Content = body };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var document = await SendAsync(request, model, cancellationToken);
        var root2 = document.RootElement;
        var vectors = new float[inputs.Count][];
        foreach (var item in root2.GetProperty("data").EnumerateArray())
        {
            var index = item.TryGetProperty("index", out var i) ? i.GetInt32() : Array.IndexOf(vectors, null);
            vectors[index] = item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }

        Complete(vectors, model);
        if (root2.TryGetProperty("usage", out var usage) && usage.TryGetProperty("prompt_tokens", out var prompt) && prompt.ValueKind == JsonValueKind.Number)
        {
            return new EmbeddingResult(vectors, prompt.GetInt64(), Estimated: false);
        }

        return new EmbeddingResult(vectors, inputs.Sum(t => (long)tokens.Count(t)), Estimated: true);
    }

    private async Task<EmbeddingResult> GeminiAsync(Uri root, string? key, CatalogEmbeddingModel model, IReadOnlyList<string> inputs, int? dimensions, CancellationToken cancellationToken)
    {
        var name = "models/" + model.Id;
        var body = Json(writer =>
        {
            writer.WriteStartArray("requests");
            foreach (var input in inputs)
            {
                writer.WriteStartObject();
                writer.WriteString("model", name);
                writer.WriteStartObject("content");
                writer.WriteStartArray("parts");
                writer.WriteStartObject();
                writer.WriteString("text", input);
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteEndObject();
                if (dimensions is { } d)
                {
                    writer.WriteNumber("outputDimensionality", d);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, $"v1beta/models/{Uri.EscapeDataString(model.Id)}:batchEmbedContents")) { Content = body };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("x-goog-api-key", key);
        }

        using var document = await SendAsync(request, model, cancellationToken);
        var vectors = document.RootElement.GetProperty("embeddings").EnumerateArray()
            .Select(e => e.GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Complete(vectors, model, inputs.Count);
        // batchEmbedContents reports no token counts: the tokenizer's estimate is recorded and charged.
        return new EmbeddingResult(vectors, inputs.Sum(t => (long)tokens.Count(t)), Estimated: true);
    }

    private async Task<JsonDocument> SendAsync(HttpRequestMessage request, CatalogEmbeddingModel model, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested || ex is TaskCanceledException)
        {
            throw Unavailable(model, "did not answer");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var message = UpstreamMessage(text);
                var detail = $"{model.Provider} answered HTTP {(int)response.StatusCode} for embedding model '{model.Id}'" + (message is null ? "." : ": " + message);
                throw response.StatusCode switch
                {
                    HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge =>
                        RpcErrors.Create(StatusCode.InvalidArgument, "PROVIDER_REJECTED_REQUEST", detail, Meta(model)),
                    HttpStatusCode.TooManyRequests => RpcErrors.Create(StatusCode.ResourceExhausted, "PROVIDER_RATE_LIMITED", detail, Meta(model)),
                    _ => Unavailable(model, $"answered HTTP {(int)response.StatusCode}"),
                };
            }

            try
            {
                return JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                throw Unavailable(model, "answered with a body that is not JSON");
            }
        }
    }

    private static void Complete(float[]?[] vectors, CatalogEmbeddingModel model, int? expected = null)
    {
        if ((expected is { } count && vectors.Length != count) || vectors.Any(v => v is null))
        {
            throw Unavailable(model, "answered with fewer embeddings than inputs");
        }
    }

    private static RpcException Unavailable(CatalogEmbeddingModel model, string what) =>
        RpcErrors.Create(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE", $"{model.Provider} {what} for embedding model '{model.Id}'.", Meta(model));

    private static Dictionary<string, string> Meta(CatalogEmbeddingModel model) => new() { ["provider"] = model.Provider, ["model"] = model.Id };

    /// <summary>The upstream's own error message (OpenAI and Gemini both answer <c>{"error":{"message":…}}</c>), shortened.</summary>
    private static string? UpstreamMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message) && message.GetString() is { } text
                ? (text.Length > 300 ? text[..300] : text)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ByteArrayContent Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = Encoding.UTF8.WebName };
        return content;
    }

    public void Dispose() => _http.Dispose();
}
