namespace MonkeyCoder.Core.Limits;

internal static class LimitMath
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>The smaller of two remaining amounts where -1 means "no budget".</summary>
    public static long Tighter(long a, long b) => a < 0 ? b : b < 0 ? a : Math.Min(a, b);

    public static long ToMicros(double usd) => (long)Math.Round(usd * 1_000_000, MidpointRounding.AwayFromZero);

    /// <summary>Month bucket "yyyyMM" in UTC.</summary>
    public static string Month(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMM", System.Globalization.CultureInfo.InvariantCulture);

    public static TimeSpan UntilNextMonth(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var next = new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        return next - utc;
    }
}
