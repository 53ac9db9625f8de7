using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace MonkeyCoder.Core.Caching;

/// <summary>
/// Identical concurrent requests share one upstream call. The first caller for a key starts the
/// work under its own cancellation; later callers join it. Each caller can leave (cancel) on its
/// own; the shared work is cancelled only when every caller has left, so one impatient caller
/// never breaks the others' answers, and an abandoned call never runs on for nobody.
/// </summary>
internal sealed class SingleFlight<T>
{
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    /// <summary>Flights in progress (for tests and metrics).</summary>
    public int InFlight => _flights.Count;

    /// <summary>Runs <paramref name="work"/> once per key at a time; Joined is true for callers that shared.</summary>
    public async Task<(T Value, bool Joined)> RunAsync(string key, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        while (true)
        {
            var created = new Flight();
            var flight = _flights.GetOrAdd(key, created);
            if (!flight.TryEnter())
            {
                // Lost a race with the flight's last caller leaving; start over.
                _flights.TryRemove(new KeyValuePair<string, Flight>(key, flight));
                continue;
            }

            var joined = !ReferenceEquals(flight, created);
            if (!joined)
            {
                flight.Start(() => work(flight.Token), () => _flights.TryRemove(new KeyValuePair<string, Flight>(key, flight)));
            }

            try
            {
                return (await flight.Task.WaitAsync(cancellationToken), joined);
            }
            finally
            {
                flight.Leave();
            }
        }
    }

    private sealed class Flight
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _callers;
        private bool _closed;

        public CancellationToken Token => _cts.Token;

        public Task<T> Task => _result.Task;

        public bool TryEnter()
        {
            lock (_cts)
            {
                if (_closed)
                {
                    return false;
                }

                _callers++;
                return true;
            }
        }

        public void Leave()
        {
            lock (_cts)
            {
                if (--_callers == 0)
                {
                    _closed = true;
                    if (!_result.Task.IsCompleted)
                    {
                        _cts.Cancel();
                    }
                }
            }
        }

        public void Start(Func<Task<T>> work, Action remove) => _ = RunAsync(work, remove);

        private async Task RunAsync(Func<Task<T>> work, Action remove)
        {
            try
            {
                _result.TrySetResult(await work());
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
                _result.TrySetCanceled(_cts.Token);
            }
            catch (Exception ex)
            {
                _result.TrySetException(ex);
            }
            finally
            {
                // Done: the next identical request starts afresh (and will usually hit the cache).
                // The token source is not disposed: a late Leave() may still read it, and it holds no timer.
                remove();
            }
        }
    }
}

/// <summary>
/// Single flight for streams: the first caller's upstream stream is recorded as it arrives and
/// replayed to every caller that joins, from the start, then followed live. The upstream stops
/// when every subscriber has gone.
/// </summary>
internal sealed class StreamFlight<T>
{
    private readonly ConcurrentDictionary<string, Broadcast> _flights = new(StringComparer.Ordinal);

    public int InFlight => _flights.Count;

    public async IAsyncEnumerable<(T Item, bool Joined)> SubscribeAsync(
        string key, Func<CancellationToken, IAsyncEnumerable<T>> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Broadcast broadcast;
        bool joined;
        while (true)
        {
            var created = new Broadcast();
            broadcast = _flights.GetOrAdd(key, created);
            if (broadcast.TryEnter())
            {
                joined = !ReferenceEquals(broadcast, created);
                if (!joined)
                {
                    var b = broadcast;
                    broadcast.Start(source, () => _flights.TryRemove(new KeyValuePair<string, Broadcast>(key, b)));
                }

                break;
            }

            _flights.TryRemove(new KeyValuePair<string, Broadcast>(key, broadcast));
        }

        try
        {
            var index = 0;
            while (true)
            {
                var (items, done, error, changed) = broadcast.Snapshot(index);
                foreach (var item in items)
                {
                    index++;
                    yield return (item, joined);
                }

                if (items.Count > 0)
                {
                    continue;
                }

                if (error is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                }

                if (done)
                {
                    yield break;
                }

                await changed.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            broadcast.Leave();
        }
    }

    private sealed class Broadcast
    {
        private readonly Lock _gate = new();
        private readonly List<T> _items = [];
        private readonly CancellationTokenSource _cts = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Exception? _error;
        private bool _done;
        private int _subscribers;
        private bool _closed;

        public bool TryEnter()
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return false;
                }

                _subscribers++;
                return true;
            }
        }

        public void Leave()
        {
            lock (_gate)
            {
                if (--_subscribers == 0)
                {
                    _closed = true;
                    if (!_done)
                    {
                        _cts.Cancel();
                    }
                }
            }
        }

        public (IReadOnlyList<T> Items, bool Done, Exception? Error, Task Changed) Snapshot(int from)
        {
            lock (_gate)
            {
                var items = from < _items.Count ? _items.GetRange(from, _items.Count - from) : [];
                return (items, _done, _error, _changed.Task);
            }
        }

        public void Start(Func<CancellationToken, IAsyncEnumerable<T>> source, Action remove) => _ = PumpAsync(source, remove);

        private async Task PumpAsync(Func<CancellationToken, IAsyncEnumerable<T>> source, Action remove)
        {
            try
            {
                await foreach (var item in source(_cts.Token).WithCancellation(_cts.Token))
                {
                    Publish(item, null, done: false);
                }

                Publish(default, null, done: true);
            }
            catch (Exception ex)
            {
                Publish(default, ex, done: true);
            }
            finally
            {
                remove();
            }
        }

        private void Publish(T? item, Exception? error, bool done)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                if (!done)
                {
                    _items.Add(item!);
                }

                _error ??= error;
                _done |= done;
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }
    }
}
