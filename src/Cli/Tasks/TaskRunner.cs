using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using MonkeyCoder.Cli.Connection;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Tasks;

/// <summary>What one run produced: the whole answer and how it ended.</summary>
internal sealed record TaskResult(string Content, StreamFinal Final, string SessionId);

/// <summary>
/// Runs one ExecuteRequest and renders it: streamed (deltas written as they arrive, in order) or
/// unary (--no-stream); plain text with a one-line summary on stderr, or NDJSON events (--json).
/// A stream that ends without its `final` event is an error, never a complete answer.
/// </summary>
internal static class TaskRunner
{
    public static async Task<TaskResult> RunAsync(ServiceConnection connection, ExecuteRequest request, bool stream, CancellationToken cancellationToken)
    {
        var json = connection.Settings.Json;
        return stream
            ? await StreamAsync(connection, request, json, cancellationToken)
            : await UnaryAsync(connection, request, json, cancellationToken);
    }

    private static async Task<TaskResult> StreamAsync(ServiceConnection connection, ExecuteRequest request, bool json, CancellationToken cancellationToken)
    {
        var content = new StringBuilder();
        StreamFinal? final = null;
        var sessionId = request.SessionId;
        await using var spinner = json ? null : Spinner.Start("waiting for the model");
        using var call = connection.Router.StreamExecute(request, cancellationToken: cancellationToken);
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                switch (message.EventCase)
                {
                    case StreamExecuteResponse.EventOneofCase.Started:
                        var started = message.Started;
                        if (started.SessionId.Length > 0)
                        {
                            sessionId = started.SessionId;
                        }

                        if (json)
                        {
                            JsonLines.Write(w => WriteStarted(w, started));
                        }
                        else if (connection.Settings.Verbose)
                        {
                            var first = started.Plan?.Candidates.FirstOrDefault();
                            Console.Error.WriteLine($"[{started.ExecutionId}: {Name(started.Plan?.Strategy ?? Strategy.Unspecified)} plan, first {first?.Provider}/{first?.Model}]");
                        }

                        break;
                    case StreamExecuteResponse.EventOneofCase.Delta:
                        var delta = message.Delta;
                        content.Append(delta.Text);
                        if (json)
                        {
                            JsonLines.Write(w =>
                            {
                                w.WriteString("type", "delta");
                                w.WriteNumber("index", delta.Index);
                                w.WriteString("text", delta.Text);
                            });
                        }
                        else
                        {
                            if (spinner is not null)
                            {
                                await spinner.StopAsync();
                            }

                            Console.Out.Write(delta.Text);
                        }

                        break;
                    case StreamExecuteResponse.EventOneofCase.Final:
                        final = message.Final;
                        break;
                }
            }
        }
        finally
        {
            if (spinner is not null)
            {
                await spinner.StopAsync();
            }
        }

        if (final is null)
        {
            throw new CliException(ExitCodes.Failure, "the answer stream ended without its final event, so the answer may be incomplete. Retry.");
        }

        if (json)
        {
            JsonLines.Write(w => WriteFinal(w, final));
        }
        else
        {
            if (content.Length > 0 && content[^1] != '\n')
            {
                Console.Out.WriteLine();
            }

            WriteSummary(final.Provider, final.Model, final.FinishReason, final.Usage, final.Timing, final.CacheHit);
        }

        return new TaskResult(content.ToString(), final, sessionId);
    }

    private static async Task<TaskResult> UnaryAsync(ServiceConnection connection, ExecuteRequest request, bool json, CancellationToken cancellationToken)
    {
        ExecuteResponse response;
        await using (var spinner = json ? null : Spinner.Start("waiting for the model"))
        {
            response = await connection.Router.ExecuteAsync(request, cancellationToken: cancellationToken);
        }

        var final = new StreamFinal
        {
            ExecutionId = response.ExecutionId,
            Status = response.Status,
            FinishReason = response.FinishReason,
            Provider = response.Provider,
            Model = response.Model,
            Usage = response.Usage,
            Timing = response.Timing,
            CacheHit = response.CacheHit,
        };
        final.Attempts.AddRange(response.Attempts);
        if (json)
        {
            JsonLines.Write(w =>
            {
                WriteFinalFields(w, final, "response");
                w.WriteString("session_id", response.SessionId);
                w.WriteString("content", response.Content);
            });
        }
        else
        {
            Console.Out.Write(response.Content);
            if (!response.Content.EndsWith('\n'))
            {
                Console.Out.WriteLine();
            }

            WriteSummary(response.Provider, response.Model, response.FinishReason, response.Usage, response.Timing, response.CacheHit);
        }

        return new TaskResult(response.Content, final, response.SessionId);
    }

    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    private static void WriteStarted(Utf8JsonWriter w, StreamStarted started)
    {
        w.WriteString("type", "started");
        w.WriteString("execution_id", started.ExecutionId);
        w.WriteString("session_id", started.SessionId);
        w.WriteString("strategy", Name(started.Plan?.Strategy ?? Strategy.Unspecified));
        w.WriteStartArray("candidates");
        foreach (var candidate in started.Plan?.Candidates ?? [])
        {
            w.WriteStartObject();
            w.WriteString("provider", candidate.Provider);
            w.WriteString("model", candidate.Model);
            w.WriteNumber("score", candidate.Score);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteFinal(Utf8JsonWriter w, StreamFinal final) => WriteFinalFields(w, final, "final");

    private static void WriteFinalFields(Utf8JsonWriter w, StreamFinal final, string type)
    {
        w.WriteString("type", type);
        w.WriteString("execution_id", final.ExecutionId);
        w.WriteString("status", Name(final.Status));
        w.WriteString("finish_reason", Name(final.FinishReason));
        w.WriteString("provider", final.Provider);
        w.WriteString("model", final.Model);
        w.WriteBoolean("cache_hit", final.CacheHit);
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", final.Usage?.InputTokens ?? 0);
        w.WriteNumber("output_tokens", final.Usage?.OutputTokens ?? 0);
        w.WriteNumber("total_tokens", final.Usage?.TotalTokens ?? 0);
        w.WriteNumber("cost_usd", final.Usage?.CostUsd ?? 0);
        w.WriteBoolean("estimated", final.Usage?.Estimated ?? false);
        w.WriteEndObject();
        w.WriteStartObject("timing");
        w.WriteNumber("total_ms", Math.Round(final.Timing?.Total?.ToTimeSpan().TotalMilliseconds ?? 0, 1));
        w.WriteNumber("time_to_first_token_ms", Math.Round(final.Timing?.TimeToFirstToken?.ToTimeSpan().TotalMilliseconds ?? 0, 1));
        w.WriteEndObject();
        w.WriteNumber("attempts", final.Attempts.Count);
    }

    private static void WriteSummary(string provider, string model, FinishReason finish, Usage? usage, Timing? timing, bool cacheHit)
    {
        var seconds = timing?.Total?.ToTimeSpan().TotalSeconds ?? 0;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"[{provider}/{model} · {usage?.InputTokens ?? 0} in + {usage?.OutputTokens ?? 0} out tokens · ${usage?.CostUsd ?? 0:0.######} · {seconds:0.00} s · {Name(finish)}{(cacheHit ? " · cached" : "")}]");
        Console.Error.WriteLine(line);
        if (finish == FinishReason.Length)
        {
            Console.Error.WriteLine("note: the answer stopped at --max-tokens; raise it for the rest.");
        }
    }
}
