namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>Formatting shared by the scoring rules' explanations (invariant culture, rounded breakdowns).</summary>
internal static class Explain
{
    /// <summary>
    /// Formats in the invariant culture straight into a pooled buffer: unlike a
    /// <see cref="FormattableString"/>, no argument array and no boxed numbers, only the string.
    /// </summary>
    public static string Inv(ref InvariantStringHandler text) => text.ToStringAndClear();

    public static double Round(double value) => Math.Round(value, 4);

    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
