using System.Globalization;
using System.Net;
using System.Text;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Reporting;

/// <summary>A hand-written SVG line chart: p50/p95/p99/max latency per second of one phase.</summary>
public static class SvgChart
{
    private const int Width = 760, Height = 320, Left = 64, Right = 120, Top = 36, Bottom = 44;

    public static string Render(string title, IReadOnlyList<IntervalPoint> points)
    {
        var inv = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(inv, $"<text x=\"{Left}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>\n");
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        if (points.Count == 0)
        {
            svg.Append(inv, $"<text x=\"{Left}\" y=\"{Top + 20}\">no measured calls</text>\n</svg>\n");
            return svg.ToString();
        }

        var maxX = Math.Max(1, points[^1].AtSeconds);
        // Scale to p99 (not max): one outlier must not flatten the lines that matter; max is clipped.
        var maxY = Nice(points.Max(p => p.P99) * 1.1);
        double X(double s) => Left + s / maxX * plotW;
        double Y(double ms) => Top + plotH - Math.Min(ms, maxY) / maxY * plotH;

        for (var i = 0; i <= 5; i++)
        {
            var v = maxY * i / 5;
            var y = Y(v);
            svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Left + plotW}\" y2=\"{y:0.#}\" stroke=\"#e5e5e5\"/>\n");
            svg.Append(inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{Label(v)}</text>\n");
        }

        for (var i = 0; i <= 6; i++)
        {
            var s = maxX * i / 6;
            svg.Append(inv, $"<text x=\"{X(s):0.#}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{s:0.#}</text>\n");
        }

        svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{Top + plotH}\" x2=\"{Left + plotW}\" y2=\"{Top + plotH}\" stroke=\"#444\"/>\n");
        svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotH}\" stroke=\"#444\"/>\n");
        svg.Append(inv, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">seconds since warm-up ended</text>\n");
        svg.Append(inv, $"<text x=\"14\" y=\"{Top + plotH / 2}\" transform=\"rotate(-90 14 {Top + plotH / 2})\" text-anchor=\"middle\">latency (ms)</text>\n");

        var series = new (string Name, string Color, Func<IntervalPoint, double> Value)[]
        {
            ("max (clipped)", "#bbbbbb", p => p.Max),
            ("p99", "#d62728", p => p.P99),
            ("p95", "#ff7f0e", p => p.P95),
            ("p50", "#1f77b4", p => p.P50),
        };
        var legendY = Top + 6;
        foreach (var (name, color, value) in series)
        {
            var path = string.Join(' ', points.Select((p, i) => string.Create(inv, $"{(i == 0 ? 'M' : 'L')}{X(p.AtSeconds):0.#},{Y(value(p)):0.#}")));
            svg.Append(inv, $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\"/>\n");
            svg.Append(inv, $"<rect x=\"{Left + plotW + 14}\" y=\"{legendY - 8}\" width=\"12\" height=\"3\" fill=\"{color}\"/>");
            svg.Append(inv, $"<text x=\"{Left + plotW + 30}\" y=\"{legendY - 3}\">{name}</text>\n");
            legendY += 16;
        }

        svg.Append(inv, $"<text x=\"{Left + plotW + 14}\" y=\"{legendY + 10}\">calls: {points.Sum(p => p.Count)}</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Label(double ms) => ms >= 1000 ? string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:0.##} s") : string.Create(CultureInfo.InvariantCulture, $"{ms:0.##}");

    private static double Nice(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= value)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }
}
