// A .NET client of Monkey Coder: Execute, StreamExecute and the error model.
// dotnet run --project docs/samples/csharp -- http://localhost:50051
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.V1;

var address = args.Length > 0 ? args[0] : "http://localhost:50051";
// Every call carries an API key (MONKEY_CODER_API_KEY): here as call credentials on the channel.
var apiKey = Environment.GetEnvironmentVariable("MONKEY_CODER_API_KEY") ?? "";
using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
{
    Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
    {
        metadata.Add("authorization", "Bearer " + apiKey);
        return Task.CompletedTask;
    })),
    UnsafeUseInsecureChannelCallCredentials = true, // plaintext to localhost only; use https in production
});
var router = new RouterService.RouterServiceClient(channel);
var request = new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "fizzbuzz in python", MaxTokens = 200 };

// The whole answer in one response. Always set a deadline: it reaches the upstream provider call.
var response = await router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
Console.WriteLine($"execute: {response.Status} by {response.Provider}/{response.Model}, {response.Usage.TotalTokens} tokens");

// The same task streamed: one Started, Deltas in order, one Final with usage.
using var call = router.StreamExecute(request, deadline: DateTime.UtcNow.AddSeconds(30));
await foreach (var item in call.ResponseStream.ReadAllAsync())
{
    switch (item.EventCase)
    {
        case StreamExecuteResponse.EventOneofCase.Started:
            Console.WriteLine($"stream: started {item.Started.ExecutionId}");
            break;
        case StreamExecuteResponse.EventOneofCase.Delta:
            Console.Write(item.Delta.Text);
            break;
        case StreamExecuteResponse.EventOneofCase.Final:
            Console.WriteLine($"\nstream: final {item.Final.FinishReason}, {item.Final.Usage.OutputTokens} output tokens");
            break;
    }
}

// Errors carry google.rpc.Status details: ErrorInfo (reason), BadRequest (fields), RetryInfo.
try
{
    await router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "" }, deadline: DateTime.UtcNow.AddSeconds(30));
}
catch (RpcException ex)
{
    var status = ex.GetRpcStatus();
    var info = status?.GetDetail<ErrorInfo>();
    var fields = status?.GetDetail<BadRequest>()?.FieldViolations.Select(v => v.Field) ?? [];
    Console.WriteLine($"error: {ex.StatusCode} {info?.Reason} fields={string.Join(",", fields)}");
}
