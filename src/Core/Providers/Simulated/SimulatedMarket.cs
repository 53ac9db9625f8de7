using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>
/// The simulated provider's market (<c>SIMULATED_MARKET_PATH</c>, see src/Core/Providers/README.md).
/// Without a file the market is today's: sim-fast and sim-pro from the catalog, no errors, the
/// global delay and speed. With one, its models join (or replace) the simulated models of the
/// catalog at start, and their behaviour (latency, error rate, quality) follows the file while the
/// process runs: it is read again when its modification time changes (checked at most every
/// 200 ms), so a demo or a load test can degrade and recover a model live. A file that becomes
/// unreadable keeps the last good market and logs a warning.
/// </summary>
internal sealed partial class SimulatedMarket
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(200);
    private readonly string? _path;
    private readonly TimeProvider _time;
    private readonly ILogger<SimulatedMarket> _logger;
    private readonly Lock _gate = new();
    private Random _random = new();
    private Dictionary<string, SimulatedMarketModel> _models = new(StringComparer.OrdinalIgnoreCase);
    private DateTime _loadedWriteTime;
    private long _checkedAt;

    public SimulatedMarket(IOptions<SimulatedProviderOptions> options, TimeProvider time, ILogger<SimulatedMarket> logger)
    {
        _path = string.IsNullOrWhiteSpace(options.Value.MarketPath) ? null : options.Value.MarketPath;
        _time = time;
        _logger = logger;
        if (_path is not null)
        {
            try
            {
                Load(_path);
            }
            catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new OptionsValidationException(SimulatedProviderOptions.Section, typeof(SimulatedProviderOptions),
                    [$"SIMULATED_MARKET_PATH (MonkeyCoder:Simulated:MarketPath) '{_path}' could not be loaded: {ex.Message}"]);
            }
        }
    }

    /// <summary>The market's models as loaded at start (what joins the catalog).</summary>
    public IReadOnlyList<SimulatedMarketModel> Models
    {
        get
        {
            lock (_gate)
            {
                return [.. _models.Values];
            }
        }
    }

    /// <summary>"code_generation" for <see cref="TaskType.CodeGeneration"/>, and so on.</summary>
    public static string TaskKey(TaskType taskType) => taskType switch
    {
        TaskType.CodeGeneration => "code_generation",
        TaskType.CodeAnalysis => "code_analysis",
        TaskType.CodeReview => "code_review",
        TaskType.Documentation => "documentation",
        TaskType.Testing => "testing",
        TaskType.Debugging => "debugging",
        TaskType.Refactoring => "refactoring",
        TaskType.Chat => "chat",
        _ => "custom",
    };

    /// <summary>The behaviour of <paramref name="modelId"/> on <paramref name="taskType"/>, or null when the market does not list it.</summary>
    public SimulatedBehaviour? Behaviour(string modelId, TaskType taskType)
    {
        if (_path is null)
        {
            return null;
        }

        Refresh();
        lock (_gate)
        {
            return _models.TryGetValue(modelId, out var model) ? model.For(taskType) : null;
        }
    }

    /// <summary>True with probability <paramref name="rate"/> (the market's seeded draws).</summary>
    public bool Fails(double rate)
    {
        if (rate <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            return _random.NextDouble() < rate;
        }
    }

    private void Refresh()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _checkedAt);
        if (last != 0 && _time.GetElapsedTime(last, now) < CheckEvery || Interlocked.CompareExchange(ref _checkedAt, now, last) != last)
        {
            return;
        }

        try
        {
            if (File.GetLastWriteTimeUtc(_path!) != _loadedWriteTime)
            {
                Load(_path!);
            }
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            Log.Invalid(_logger, _path!, ex.GetType().Name);
        }
    }

    private void Load(string path)
    {
        var writeTime = File.GetLastWriteTimeUtc(path);
        SimulatedMarketDocument document;
        using (var file = File.OpenRead(path))
        {
            document = JsonSerializer.Deserialize(file, SimulatedMarketJsonContext.Default.SimulatedMarketDocument)
                ?? throw new InvalidDataException("the file is empty");
        }

        var models = new Dictionary<string, SimulatedMarketModel>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in document.Models ?? [])
        {
            Validate(model);
            if (!models.TryAdd(model.Id, model))
            {
                throw new InvalidDataException($"model '{model.Id}' is listed twice");
            }
        }

        lock (_gate)
        {
            _models = models;
            if (_loadedWriteTime == default)
            {
                _random = document.Seed == 0 ? new Random() : new Random(document.Seed);
            }

            _loadedWriteTime = writeTime;
        }

        Log.Loaded(_logger, path, models.Count);
    }

    private static void Validate(SimulatedMarketModel model)
    {
        if (string.IsNullOrWhiteSpace(model.Id))
        {
            throw new InvalidDataException("a model has no id");
        }

        Check(model.Id, "", model.LatencyMs, model.ErrorRate, model.Quality);
        foreach (var (task, b) in model.Tasks ?? [])
        {
            Check(model.Id, " on " + task, b.LatencyMs, b.ErrorRate, b.Quality);
        }

        static void Check(string id, string where, int? latencyMs, double? errorRate, double? quality)
        {
            if (errorRate is < 0 or > 1 || quality is < 1 or > 5 || latencyMs is < 0 or > 600_000)
            {
                throw new InvalidDataException($"model '{id}'{where}: errorRate must be 0–1, quality 1–5, latencyMs 0–600000");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.SimulatedMarketLoaded, Level = LogLevel.Information,
            Message = "Simulated market loaded from {Path}: {Count} models")]
        public static partial void Loaded(ILogger logger, string path, int count);

        [LoggerMessage(EventId = Observability.EventIds.SimulatedMarketInvalid, Level = LogLevel.Warning,
            Message = "Simulated market {Path} could not be read again ({ErrorType}); the last good market stays")]
        public static partial void Invalid(ILogger logger, string path, string errorType);
    }
}
