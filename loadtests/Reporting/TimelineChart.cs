using System.Globalization;
using System.Net;
using System.Text;
using MonkeyCoder.LoadTests.Scenarios;

namespace MonkeyCoder.LoadTests.Reporting;

/// <summary>One second of a soak: calls scheduled in it, how many succeeded, and the p95 of those.</summary>
public sealed record SecondPoint(int Second, long Calls, long Ok, double P95Ms);

/// <summary>
/// A hand-written SVG of a soak over time: per-second success rate (top) and p95 latency (bottom),
/// with every fault window shaded and named across both panels.
/// </summary>
public static class TimelineChart
{
    private const int Width = 960, Left = 64, Right = 24, Top = 40, PanelHeight = 170, Gap = 46, Bottom = 40;

    public static string Render(string title, IReadOnlyList<SecondPoint> points, IReadOnlyList<TimelineWindow> windows)
    {
        var inv = CultureInfo.InvariantCulture;
        var height = Top + PanelHeight * 2 + Gap + Bottom;
        var plotW = Width - Left - Right;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(inv, $"<text x=\"{Left}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>\n");
        var maxX = Math.Max(1, Math.Max(points.Count == 0 ? 0 : points[^1].Second + 1, windows.Count == 0 ? 0 : windows[^1].End));
        double X(double s) => Left + s / maxX * plotW;

        var top1 = Top;
        var top2 = Top + PanelHeight + Gap;
        // Fault windows: shaded across both panels, named at the top.
        foreach (var w in windows.Where(w => w.Kind == WindowKind.Fault))
        {
            foreach (var top in new[] { top1, top2 })
            {
                svg.Append(inv, $"<rect x=\"{X(w.Start):0.#}\" y=\"{top}\" width=\"{Math.Max(1, X(w.End) - X(w.Start)):0.#}\" height=\"{PanelHeight}\" fill=\"#d62728\" fill-opacity=\"0.13\"/>\n");
            }

            svg.Append(inv, $"<text x=\"{X(w.Start) + 2:0.#}\" y=\"{top1 + 10}\" font-size=\"9\" fill=\"#a01010\" transform=\"rotate(90 {X(w.Start) + 2:0.#} {top1 + 10})\">{WebUtility.HtmlEncode(w.Name)}</text>\n");
        }

        // Top panel: success rate per second, 0–100 %.
        Axes(svg, top1, "success rate (%)", v => $"{v:0}", 100, 0);
        var success = points.Where(p => p.Calls > 0).Select(p => (p.Second, Rate: 100.0 * p.Ok / p.Calls)).ToList();
        double Y1(double pct) => top1 + PanelHeight - pct / 100 * PanelHeight;
        Line(svg, success.Select(p => (X(p.Second + 0.5), Y1(p.Rate))), "#2ca02c");

        // Bottom panel: p95 of successful calls per second.
        var maxP95 = Nice(Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.P95Ms)) * 1.1);
        Axes(svg, top2, "p95 latency (ms)", v => v >= 1000 ? $"{v / 1000:0.##} s" : $"{v:0}", maxP95, 0);
        double Y2(double ms) => top2 + PanelHeight - Math.Min(ms, maxP95) / maxP95 * PanelHeight;
        Line(svg, points.Where(p => p.Ok > 0).Select(p => (X(p.Second + 0.5), Y2(p.P95Ms))), "#ff7f0e");
        var twoSeconds = Y2(2000);
        if (maxP95 >= 2000)
        {
            svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{twoSeconds:0.#}\" x2=\"{Left + plotW}\" y2=\"{twoSeconds:0.#}\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n");
            svg.Append(inv, $"<text x=\"{Left + plotW - 4}\" y=\"{twoSeconds - 3:0.#}\" text-anchor=\"end\" fill=\"#d62728\">2 s</text>\n");
        }

        for (var i = 0; i <= 8; i++)
        {
            var s = maxX * i / 8;
            svg.Append(inv, $"<text x=\"{X(s):0.#}\" y=\"{top2 + PanelHeight + 16}\" text-anchor=\"middle\">{s:0}</text>\n");
            svg.Append(inv, $"<text x=\"{X(s):0.#}\" y=\"{top1 + PanelHeight + 16}\" text-anchor=\"middle\">{s:0}</text>\n");
        }

        svg.Append(inv, $"<text x=\"{Left + plotW / 2}\" y=\"{height - 10}\" text-anchor=\"middle\">seconds since the measured load began (shaded: fault windows)</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();

        void Axes(StringBuilder b, int top, string label, Func<double, string> format, double max, double min)
        {
            for (var i = 0; i <= 4; i++)
            {
                var v = min + (max - min) * i / 4;
                var y = top + PanelHeight - (v - min) / (max - min) * PanelHeight;
                b.Append(inv, $"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Left + plotW}\" y2=\"{y:0.#}\" stroke=\"#e5e5e5\"/>\n");
                b.Append(inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{string.Create(inv, $"{format(v)}")}</text>\n");
            }

            b.Append(inv, $"<line x1=\"{Left}\" y1=\"{top + PanelHeight}\" x2=\"{Left + plotW}\" y2=\"{top + PanelHeight}\" stroke=\"#444\"/>\n");
            b.Append(inv, $"<line x1=\"{Left}\" y1=\"{top}\" x2=\"{Left}\" y2=\"{top + PanelHeight}\" stroke=\"#444\"/>\n");
            b.Append(inv, $"<text x=\"14\" y=\"{top + PanelHeight / 2}\" transform=\"rotate(-90 14 {top + PanelHeight / 2})\" text-anchor=\"middle\">{label}</text>\n");
        }

        void Line(StringBuilder b, IEnumerable<(double X, double Y)> xy, string color)
        {
            var path = string.Join(' ', xy.Select((p, i) => string.Create(inv, $"{(i == 0 ? 'M' : 'L')}{p.X:0.#},{p.Y:0.#}")));
            if (path.Length > 0)
            {
                b.Append(inv, $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n");
            }
        }
    }

    private static double Nice(double value)
    {
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
