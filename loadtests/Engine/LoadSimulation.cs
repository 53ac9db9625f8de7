namespace MonkeyCoder.LoadTests.Engine;

/// <summary>How calls are injected (NBomber's load simulations).</summary>
public abstract record LoadSimulation
{
    /// <summary>Calls before this point are warm-up: run, counted apart, never in the results.</summary>
    public TimeSpan WarmUp { get; init; }

    public abstract string Describe();
}

/// <summary>
/// Closed model: <see cref="Copies"/> callers, each starting its next call when the last ends,
/// started evenly over <see cref="RampUp"/>, for warm-up plus <see cref="During"/>. Measures what
/// N concurrent clients see; it cannot show queueing beyond N (use <see cref="InjectPerSecond"/>).
/// </summary>
public sealed record KeepConcurrent(int Copies, TimeSpan During, TimeSpan RampUp) : LoadSimulation
{
    public override string Describe() =>
        $"closed model: {Copies} concurrent callers for {During.TotalSeconds:0.#} s (ramp-up {RampUp.TotalSeconds:0.#} s, warm-up {WarmUp.TotalSeconds:0.#} s excluded)";
}

/// <summary>
/// Open model: calls start on a fixed schedule (<see cref="Rate"/> per second) whether or not
/// earlier ones finished, and latency counts from the scheduled start, so a slow server cannot
/// hide queueing (no coordinated omission). Calls beyond <see cref="MaxInFlight"/> are not sent
/// and count as errors (DROPPED_CLIENT_LIMIT).
/// </summary>
public sealed record InjectPerSecond(double Rate, TimeSpan During, int MaxInFlight) : LoadSimulation
{
    public override string Describe() =>
        $"open model: {Rate:0.#} calls/s injected for {During.TotalSeconds:0.#} s, latency from the scheduled start (warm-up {WarmUp.TotalSeconds:0.#} s excluded, at most {MaxInFlight} in flight)";
}

/// <summary>
/// <see cref="Count"/> calls started evenly over <see cref="RampUp"/>, all held until they end: the
/// shape for "N concurrent open streams". Warm-up is not used (run a separate warm-up phase).
/// </summary>
public sealed record Burst(int Count, TimeSpan RampUp) : LoadSimulation
{
    public override string Describe() => $"{Count} calls started over {RampUp.TotalSeconds:0.#} s and held open until they end";
}
