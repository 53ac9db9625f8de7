using System.Globalization;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>Formatting shared by the scoring rules' explanations (invariant culture, rounded breakdowns).</summary>
internal static class Explain
{
    public static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public static double Round(double value) => Math.Round(value, 4);

    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
