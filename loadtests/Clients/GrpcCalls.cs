using System.Diagnostics;
using Grpc.Core;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.V1;

namespace MonkeyCoder.LoadTests.Clients;

/// <summary>
/// One Execute or StreamExecute call with its correctness checks: a non-OK status is an error
/// (Grpc.Net.Client raises HTTP 200 + non-zero grpc-status as RpcException), and so is a response
/// that is not complete (no final event, empty content, status not COMPLETED, deltas out of order).
/// </summary>
public static class GrpcCalls
{
    /// <summary>Per-call deadline: a hung call ends as DEADLINE_EXCEEDED, never as a silent hang.</summary>
    public static TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(120);

    public static ExecuteRequest Request(string prompt, int maxTokens, TaskType taskType = TaskType.CodeGeneration, double? temperature = null)
    {
        var request = new ExecuteRequest { TaskType = taskType, Prompt = prompt, MaxTokens = maxTokens };
        if (temperature is { } t)
        {
            request.Temperature = t;
        }

        return request;
    }

    public static async Task<CallResult> ExecuteAsync(ChannelPool pool, ExecuteRequest request, CallContext context, CancellationToken cancellationToken, Action<ExecuteResponse>? inspect = null)
    {
        var client = new RouterService.RouterServiceClient(pool.Next());
        try
        {
            var response = await client.ExecuteAsync(request, deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken);
            if (response.Status != ExecutionStatus.Completed)
            {
                return CallResult.Fail("NOT_COMPLETED", $"status {response.Status}");
            }

            if (string.IsNullOrEmpty(response.Content))
            {
                return CallResult.Fail("EMPTY_CONTENT", "OK status with no content");
            }

            if (response.FinishReason == FinishReason.Unspecified)
            {
                return CallResult.Fail("NO_FINISH_REASON", "OK status without a finish reason");
            }

            context.Count(response.CacheHit ? "cache_hit=true" : "cache_hit=false");
            if (response.Timing?.Overhead is { } overhead)
            {
                context.Record("server_overhead", overhead.ToTimeSpan());
            }

            inspect?.Invoke(response);
            return CallResult.Success;
        }
        catch (RpcException ex)
        {
            return CallResult.Fail(ex.StatusCode.ToString(), ex.Status.Detail);
        }
    }

    /// <summary>
    /// Reads a whole stream; records time to first token (from the scheduled start), the gaps
    /// between deltas, and keeps <paramref name="open"/> raised while the stream is open.
    /// </summary>
    public static async Task<CallResult> StreamAsync(ChannelPool pool, ExecuteRequest request, CallContext context, Gauge? open, CancellationToken cancellationToken)
    {
        var client = new RouterService.RouterServiceClient(pool.Next());
        var opened = false;
        try
        {
            using var call = client.StreamExecute(request, deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken);
            var started = false;
            var final = false;
            var expectedIndex = 0;
            long contentChars = 0;
            long last = 0;
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                switch (message.EventCase)
                {
                    case StreamExecuteResponse.EventOneofCase.Started:
                        if (started)
                        {
                            return CallResult.Fail("PROTOCOL_DUPLICATE_STARTED", "two started events");
                        }

                        started = true;
                        open?.Increment();
                        opened = true;
                        break;
                    case StreamExecuteResponse.EventOneofCase.Delta:
                        if (!started || final)
                        {
                            return CallResult.Fail("PROTOCOL_ORDER", "delta before started or after final");
                        }

                        if (message.Delta.Index != expectedIndex++)
                        {
                            return CallResult.Fail("PROTOCOL_DELTA_INDEX", $"delta {message.Delta.Index}, expected {expectedIndex - 1}");
                        }

                        var now = Stopwatch.GetTimestamp();
                        context.Record(last == 0 ? "ttft" : "inter_token_gap", Stopwatch.GetElapsedTime(last == 0 ? context.ScheduledTimestamp : last, now));
                        last = now;
                        contentChars += message.Delta.Text.Length;
                        break;
                    case StreamExecuteResponse.EventOneofCase.Final:
                        if (!started || final)
                        {
                            return CallResult.Fail("PROTOCOL_ORDER", "final before started or twice");
                        }

                        final = true;
                        if (message.Final.Status != ExecutionStatus.Completed)
                        {
                            return CallResult.Fail("NOT_COMPLETED", $"final status {message.Final.Status}");
                        }

                        context.Count(message.Final.CacheHit ? "cache_hit=true" : "cache_hit=false");
                        break;
                    default:
                        return CallResult.Fail("PROTOCOL_EMPTY_EVENT", "an event with no content");
                }
            }

            if (!final)
            {
                return CallResult.Fail("NO_FINAL", "the stream ended OK without a final event");
            }

            return contentChars == 0 ? CallResult.Fail("EMPTY_CONTENT", "no content deltas") : CallResult.Success;
        }
        catch (RpcException ex)
        {
            return CallResult.Fail(ex.StatusCode.ToString(), ex.Status.Detail);
        }
        finally
        {
            if (opened && open is not null)
            {
                open?.Decrement();
            }
        }
    }
}
