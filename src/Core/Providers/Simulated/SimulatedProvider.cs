using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>
/// The built-in provider for demos and load tests: deterministic answers per task type, real token
/// counts from the tokenizer, a configurable first-token delay and generation speed, and streaming.
/// Time comes from the injected <see cref="TimeProvider"/>, so tests can run it on fake time. With a
/// market (<see cref="SimulatedMarket"/>) each listed model has its own latency and error rate per task type.
/// </summary>
internal sealed partial class SimulatedProvider(
    IOptions<SimulatedProviderOptions> options,
    TokenCounter tokens,
    TimeProvider time,
    ILogger<SimulatedProvider> logger,
    SimulatedMarket? market = null) : IProviderClient
{
    public const string Name = "simulated";

    private readonly SimulatedProviderOptions _options = options.Value;
    private long _activeStreams;

    public string Provider => Name;

    public Uri? BaseUrl => null;

    /// <summary>Streams currently generating; observable in tests and metrics.</summary>
    public long ActiveStreams => Interlocked.Read(ref _activeStreams);

    public async Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var (text, finish, outputTokens) = Answer(request);
        var behaviour = market?.Behaviour(request.Model.Id, request.TaskType);
        var delay = FirstTokenDelay(behaviour) + Generation(outputTokens);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, time, cancellationToken);
        }

        ThrowIfMarketFails(request, behaviour);

        return new ProviderResponse(text, finish, new TokenUsage(tokens.Count(request.Messages), outputTokens), request.Model.Id);
    }

    public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (text, finish, outputTokens) = Answer(request);
        var encoded = tokens.Encode(text);
        var perDelta = _options.TokensPerSecond == 0
            ? Math.Max(1, encoded.Count)
            : Math.Max(1, (int)Math.Ceiling(_options.TokensPerSecond / (double)_options.MaxDeltasPerSecond));
        var start = time.GetTimestamp();
        var behaviour = market?.Behaviour(request.Model.Id, request.TaskType);
        var firstDelay = FirstTokenDelay(behaviour);
        if (behaviour is { ErrorRate: > 0 })
        {
            await Task.Delay(firstDelay, time, cancellationToken);
            ThrowIfMarketFails(request, behaviour);
        }

        var sent = 0;
        var offset = 0;

        Interlocked.Increment(ref _activeStreams);
        try
        {
            while (sent < encoded.Count)
            {
                // Schedule from the start, not from the last delta, so slow consumers do not stretch the pace.
                var due = firstDelay + Generation(sent);
                var wait = due - time.GetElapsedTime(start);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested();
                var take = Math.Min(perDelta, encoded.Count - sent);
                var end = take + sent == encoded.Count ? text.Length : encoded[sent + take].Offset.Start.GetOffset(text.Length);
                var chunk = text[offset..end];
                offset = end;
                sent += take;
                yield return ProviderStreamEvent.Content(chunk);
            }

            yield return ProviderStreamEvent.Final(finish, new TokenUsage(tokens.Count(request.Messages), outputTokens));
        }
        finally
        {
            Interlocked.Decrement(ref _activeStreams);
            if (sent < encoded.Count)
            {
                Log.StreamStopped(logger, request.Model.Id, sent, encoded.Count);
            }
        }
    }

    private (string Text, FinishReason Finish, int OutputTokens) Answer(ProviderRequest request)
    {
        var prompt = request.Messages.Count > 0 ? request.Messages[^1].Content : "";
        var natural = SimulatedText.NaturalTokens(SimulatedText.Seed(request.TaskType, prompt, request.Model.Id));
        var text = SimulatedText.Generate(request.TaskType, prompt, request.Model.Id, Math.Min(natural, request.MaxTokens + 64), tokens);
        var encoded = tokens.Encode(text);
        if (encoded.Count <= request.MaxTokens)
        {
            return (text, FinishReason.Stop, encoded.Count);
        }

        var cut = encoded[request.MaxTokens].Offset.Start.GetOffset(text.Length);
        return (text[..cut], FinishReason.Length, request.MaxTokens);
    }

    private TimeSpan FirstTokenDelay(SimulatedBehaviour? behaviour) => TimeSpan.FromMilliseconds(behaviour?.LatencyMs ?? _options.FirstTokenDelayMs);

    /// <summary>A market model fails at its error rate, as an overloaded upstream would (retryable, counts against it).</summary>
    private void ThrowIfMarketFails(ProviderRequest request, SimulatedBehaviour? behaviour)
    {
        if (behaviour is { } b && market!.Fails(b.ErrorRate))
        {
            throw new ProviderException(Name, ProviderErrorClass.Overloaded, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Simulated model {request.Model.Id} is overloaded (market error rate {b.ErrorRate:0.##})."));
        }
    }

    private TimeSpan Generation(int tokenCount) =>
        _options.TokensPerSecond == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(tokenCount / (double)_options.TokensPerSecond);

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.SimulatedStreamStopped, Level = LogLevel.Information,
            Message = "Simulated stream for {Model} stopped by the caller after {Sent} of {Total} tokens")]
        public static partial void StreamStopped(ILogger logger, string model, int sent, int total);
    }
}
