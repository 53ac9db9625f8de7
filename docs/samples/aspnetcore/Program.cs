// An ASP.NET Core app that calls Monkey Coder through the gRPC client factory: the key as call
// credentials, a default deadline, the channel's retry policy, cancellation from the HTTP request,
// and gRPC errors turned into HTTP answers (429 / 503 with Retry-After from RetryInfo).
// dotnet run --project docs/samples/aspnetcore   (MONKEY_CODER_API_KEY set; POST /review, POST /review/stream)
using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client.Configuration;
using MonkeyCoder.V1;

var builder = WebApplication.CreateBuilder(args);
var settings = builder.Configuration.GetSection("MonkeyCoder"); // appsettings.json: Address, TimeoutSeconds

builder.Services
    .AddGrpcClient<RouterService.RouterServiceClient>(o => o.Address = new Uri(settings["Address"] ?? "http://localhost:50051"))
    .ConfigureChannel(o =>
    {
        // Retry UNAVAILABLE only (no provider could serve, or no connection), 3 attempts with backoff.
        // A stream is retried only until its first message; after that the failure reaches the caller.
        // RESOURCE_EXHAUSTED is not retried here: the app answers 429 with the server's Retry-After.
        o.ServiceConfig = new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    RetryPolicy = new RetryPolicy
                    {
                        MaxAttempts = 3,
                        InitialBackoff = TimeSpan.FromSeconds(0.5),
                        MaxBackoff = TimeSpan.FromSeconds(5),
                        BackoffMultiplier = 2,
                        RetryableStatusCodes = { StatusCode.Unavailable },
                    },
                },
            },
        };
        // Call credentials over http:// only to localhost or a sidecar; use an https:// address elsewhere.
        o.UnsafeUseInsecureChannelCallCredentials = true;
    })
    // Read per call, so a rotated key in configuration is picked up without a restart.
    .AddCallCredentials((_, metadata, services) =>
    {
        var key = services.GetRequiredService<IConfiguration>()["MONKEY_CODER_API_KEY"]
            ?? throw new InvalidOperationException("Set MONKEY_CODER_API_KEY.");
        metadata.Add("authorization", "Bearer " + key);
        return Task.CompletedTask;
    })
    .AddInterceptor(() => new DefaultDeadline(TimeSpan.FromSeconds(settings.GetValue("TimeoutSeconds", 30))));

var app = builder.Build();

// The whole answer as JSON. The request's token cancels the gRPC call, and with it the upstream model
// call, when the client goes away.
app.MapPost("/review", async (ReviewRequest body, RouterService.RouterServiceClient router, HttpContext http) =>
{
    try
    {
        var reply = await router.ExecuteAsync(ReviewTask(body), cancellationToken: http.RequestAborted);
        return Results.Ok(new ReviewResponse(reply.Content, $"{reply.Provider}/{reply.Model}", reply.Usage.TotalTokens));
    }
    catch (RpcException ex)
    {
        return ToHttp(ex, http);
    }
});

// The answer as plain text while it is generated.
app.MapPost("/review/stream", async (ReviewRequest body, RouterService.RouterServiceClient router, HttpContext http) =>
{
    using var call = router.StreamExecute(ReviewTask(body), cancellationToken: http.RequestAborted);
    http.Response.ContentType = "text/plain; charset=utf-8";
    StreamFinal? final = null;
    try
    {
        await foreach (var item in call.ResponseStream.ReadAllAsync(http.RequestAborted))
        {
            if (item.EventCase == StreamExecuteResponse.EventOneofCase.Delta)
            {
                await http.Response.WriteAsync(item.Delta.Text, http.RequestAborted);
            }
            else if (item.EventCase == StreamExecuteResponse.EventOneofCase.Final)
            {
                final = item.Final;
            }
        }
    }
    catch (RpcException ex) when (!http.Response.HasStarted)
    {
        await ToHttp(ex, http).ExecuteAsync(http);
        return;
    }
    catch (RpcException)
    {
        // Part of the answer is out: end the response abnormally instead of passing it off as whole.
        http.Abort();
        return;
    }

    if (final is null)
    {
        http.Abort(); // a stream without its final event is incomplete
    }
});

if (!app.Configuration.GetValue<bool>("SelfTest"))
{
    app.Run();
    return;
}

// --SelfTest=true (how scripts/docs-check.sh runs this file): start on a free port, call each
// endpoint once as a client of this app would, then stop.
app.Urls.Add("http://127.0.0.1:0");
await app.StartAsync();
using (var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) })
{
    var code = new ReviewRequest("def add(a, b):\n    return a - b");
    using var unary = await client.PostAsJsonAsync("/review", code);
    var review = await unary.Content.ReadFromJsonAsync<ReviewResponse>();
    Console.WriteLine($"POST /review: {(int)unary.StatusCode}, {review?.Model}, {review?.TotalTokens} tokens");

    using var streamed = await client.PostAsJsonAsync("/review/stream", code);
    var text = await streamed.Content.ReadAsStringAsync();
    Console.WriteLine($"POST /review/stream: {(int)streamed.StatusCode}, {text.Length} characters streamed");

    using var invalid = await client.PostAsJsonAsync("/review", new ReviewRequest(""));
    Console.WriteLine($"POST /review (empty): {(int)invalid.StatusCode} {await invalid.Content.ReadAsStringAsync()}");
}

await app.StopAsync();

static ExecuteRequest ReviewTask(ReviewRequest body) =>
    new() { TaskType = TaskType.CodeReview, Prompt = body.Code, MaxTokens = 300 };

// gRPC status → HTTP: the caller of this app sees its own mistakes as 4xx, the service's trouble as 5xx,
// and the service's retry hint as Retry-After.
static IResult ToHttp(RpcException ex, HttpContext http)
{
    var status = ex.GetRpcStatus();
    var reason = status?.GetDetail<ErrorInfo>()?.Reason ?? ex.StatusCode.ToString();
    if (status?.GetDetail<RetryInfo>()?.RetryDelay is { } delay)
    {
        http.Response.Headers.RetryAfter = Math.Ceiling(delay.ToTimeSpan().TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }

    var code = ex.StatusCode switch
    {
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status502BadGateway, // our key refused, a bug upstream: not the caller's fault
    };
    return Results.Problem(title: reason, detail: ex.Status.Detail, statusCode: code);
}

internal sealed record ReviewRequest(string Code);

internal sealed record ReviewResponse(string Review, string Model, long TotalTokens);

/// <summary>Gives every call without a deadline this one, so no call can wait forever.</summary>
internal sealed class DefaultDeadline(TimeSpan timeout) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        => continuation(request, WithDeadline(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        => continuation(request, WithDeadline(context));

    private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
        => context.Options.Deadline is null
            ? new(context.Method, context.Host, context.Options.WithDeadline(DateTime.UtcNow + timeout))
            : context;
}
