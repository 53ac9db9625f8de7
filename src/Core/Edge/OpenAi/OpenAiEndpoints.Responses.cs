using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// The Responses API endpoint (<c>POST /openai/v1/responses</c>), on the same route group and call
/// pipeline as chat completions: <see cref="OpenAiCallFilter"/> authenticates, admits and maps the
/// body (<see cref="ResponsesRequestMapper"/>); this handler only answers, as JSON or as the
/// Responses API's named server-sent events.
/// </summary>
internal sealed partial class OpenAiEndpoints
{
    public const string ResponsesRpc = "OpenAi/Responses";

    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataLinePrefix = "\ndata: "u8.ToArray();

    public static async Task ResponsesAsync(HttpContext context)
    {
        var current = CallContext.Current!;
        var call = (ChatCall)current.Input!;
        var responses = context.RequestServices.GetRequiredService<ResponsesService>();
        var cancellationToken = context.RequestAborted;
        if (call.Stream)
        {
            var endpoints = context.RequestServices.GetRequiredService<OpenAiEndpoints>();
            await endpoints.StreamResponseAsync(context, current, responses.StreamAsync(call, current.Caller, cancellationToken), cancellationToken);
        }
        else
        {
            var response = await responses.CreateAsync(call, current.Caller, cancellationToken);
            context.Response.Headers["x-request-id"] = response.Id;
            await WriteJsonAsync(context, StatusCodes.Status200OK, response, ResponsesJsonContext.Default.ResponseObject);
        }
    }

    /// <summary>
    /// As chat streaming: the first event is awaited before the 200 is written, so a failure before any
    /// output still gets its HTTP status; a failure after the stream started ends it with
    /// <c>response.failed</c> (status failed, the error's code and message), never with response.completed.
    /// </summary>
    private async Task StreamResponseAsync(HttpContext context, CallContext current, IAsyncEnumerable<ResponseStreamEvent> events, CancellationToken cancellationToken)
    {
        await using var items = events.GetAsyncEnumerator(cancellationToken);
        var hasFirst = await items.MoveNextAsync();

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        ResponseObject? started = hasFirst ? items.Current.Response : null;
        if (started is not null)
        {
            response.Headers["x-request-id"] = started.Id;
        }

        await response.StartAsync(cancellationToken);
        metrics?.StreamStarted();
        long sequence = 0;
        try
        {
            var more = hasFirst;
            while (more)
            {
                items.Current.SequenceNumber = sequence++;
                await WriteNamedEventAsync(response, items.Current, cancellationToken);
                more = await items.MoveNextAsync();
            }
        }
        catch (Exception ex) when (ex is RpcException or ProviderException && !cancellationToken.IsCancellationRequested)
        {
            var error = OpenAiErrors.FromRpc(ex as RpcException ?? ProviderErrors.ToRpcException((ProviderException)ex));
            Log.StreamFailed(logger, error.Body.Error.Code ?? "unknown");
            current.FailedHttpStatus = error.HttpStatus;
            var failed = new ResponseStreamEvent
            {
                Type = "response.failed",
                SequenceNumber = sequence,
                Response = new ResponseObject
                {
                    Id = started?.Id ?? "resp_failed",
                    CreatedAt = started?.CreatedAt ?? time.GetUtcNow().ToUnixTimeSeconds(),
                    Status = "failed",
                    Model = started?.Model ?? "",
                    Output = [],
                    Error = new ResponseError { Code = error.Body.Error.Code ?? "server_error", Message = error.Body.Error.Message },
                },
            };
            await WriteNamedEventAsync(response, failed, CancellationToken.None);
        }
        finally
        {
            metrics?.StreamEnded();
        }
    }

    private static async Task WriteNamedEventAsync(HttpResponse response, ResponseStreamEvent value, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(EventPrefix, cancellationToken);
        await response.Body.WriteAsync(System.Text.Encoding.UTF8.GetBytes(value.Type), cancellationToken);
        await response.Body.WriteAsync(DataLinePrefix, cancellationToken);
        await JsonSerializer.SerializeAsync(response.Body, value, ResponsesJsonContext.Default.ResponseStreamEvent, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
