using System.Globalization;
using System.Runtime.CompilerServices;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>An interpolated string formatted in the invariant culture (<see cref="Explain.Inv"/>).</summary>
[InterpolatedStringHandler]
internal ref struct InvariantStringHandler
{
    private DefaultInterpolatedStringHandler _inner;

    public InvariantStringHandler(int literalLength, int formattedCount) =>
        _inner = new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture);

    public void AppendLiteral(string value) => _inner.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _inner.AppendFormatted(value, format);

    public void AppendFormatted(string? value) => _inner.AppendFormatted(value);

    public string ToStringAndClear() => _inner.ToStringAndClear();
}
