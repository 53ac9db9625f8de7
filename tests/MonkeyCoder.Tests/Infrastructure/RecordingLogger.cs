using Microsoft.Extensions.Logging;

namespace MonkeyCoder.Tests.Infrastructure;

/// <summary>Keeps every log entry's event id, level and message, for asserting what was logged (and how often).</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly Lock _gate = new();
    private readonly List<(int EventId, LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public int Count(int eventId) => Entries.Count(e => e.EventId == eventId);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            _entries.Add((eventId.Id, logLevel, formatter(state, exception)));
        }
    }
}
