namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Minimum and maximum steps with <see cref="Enumerable.Min(IEnumerable{double})"/>'s and
/// <see cref="Enumerable.Max(IEnumerable{double})"/>'s NaN rules (Min: NaN wins; Max: NaN loses
/// unless every value is NaN), for loops that fold from the first value without allocating.
/// </summary>
internal static class Extremes
{
    public static double Min(double current, double value) => value < current || double.IsNaN(value) ? value : current;

    public static double Max(double current, double value) => value > current || double.IsNaN(current) ? value : current;
}
