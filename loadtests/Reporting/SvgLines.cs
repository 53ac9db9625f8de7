using System.Globalization;
using System.Net;
using System.Text;

namespace MonkeyCoder.LoadTests.Reporting;

/// <summary>A hand-written SVG line chart of series over a call index, with labelled vertical markers.</summary>
public static class SvgLines
{
    private const int Width = 760, Height = 340, Left = 64, Right = 190, Top = 36, Bottom = 44;

    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<(string Name, string Color, IReadOnlyList<double> Values)> series, IReadOnlyList<(double X, string Label)> markers)
    {
        var inv = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(inv, $"<text x=\"{Left}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>\n");
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        var count = series.Count == 0 ? 0 : series.Max(s => s.Values.Count);
        if (count == 0)
        {
            svg.Append(inv, $"<text x=\"{Left}\" y=\"{Top + 20}\">no calls</text>\n</svg>\n");
            return svg.ToString();
        }

        var minY = Math.Min(0, series.SelectMany(s => s.Values).Min());
        var maxY = Math.Max(1e-9, series.SelectMany(s => s.Values).Max()) * 1.05;
        double X(double i) => Left + i / Math.Max(1, count - 1) * plotW;
        double Y(double v) => Top + plotH - (v - minY) / (maxY - minY) * plotH;

        for (var i = 0; i <= 5; i++)
        {
            var v = minY + (maxY - minY) * i / 5;
            svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{Y(v):0.#}\" x2=\"{Left + plotW}\" y2=\"{Y(v):0.#}\" stroke=\"#e5e5e5\"/>\n");
            svg.Append(inv, $"<text x=\"{Left - 6}\" y=\"{Y(v) + 4:0.#}\" text-anchor=\"end\">{v:0.#}</text>\n");
        }

        for (var i = 0; i <= 6; i++)
        {
            var x = (count - 1) * i / 6.0;
            svg.Append(inv, $"<text x=\"{X(x):0.#}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{x:0}</text>\n");
        }

        foreach (var (x, label) in markers.Where(m => m.X >= 0))
        {
            svg.Append(inv, $"<line x1=\"{X(x):0.#}\" y1=\"{Top}\" x2=\"{X(x):0.#}\" y2=\"{Top + plotH}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n");
            svg.Append(inv, $"<text x=\"{X(x) + 4:0.#}\" y=\"{Top + 12}\" fill=\"#555\">{WebUtility.HtmlEncode(label)}</text>\n");
        }

        svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{Top + plotH}\" x2=\"{Left + plotW}\" y2=\"{Top + plotH}\" stroke=\"#444\"/>\n");
        svg.Append(inv, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotH}\" stroke=\"#444\"/>\n");
        svg.Append(inv, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(xLabel)}</text>\n");
        svg.Append(inv, $"<text x=\"14\" y=\"{Top + plotH / 2}\" transform=\"rotate(-90 14 {Top + plotH / 2})\" text-anchor=\"middle\">{WebUtility.HtmlEncode(yLabel)}</text>\n");

        var legendY = Top + 6;
        foreach (var (name, color, values) in series)
        {
            // At most ~600 points a line: the chart stays small whatever the number of calls.
            var step = Math.Max(1, values.Count / 600);
            var points = Enumerable.Range(0, values.Count).Where(i => i % step == 0 || i == values.Count - 1);
            var path = string.Join(' ', points.Select((i, n) => string.Create(inv, $"{(n == 0 ? 'M' : 'L')}{X(i):0.#},{Y(values[i]):0.#}")));
            svg.Append(inv, $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\"/>\n");
            svg.Append(inv, $"<rect x=\"{Left + plotW + 14}\" y=\"{legendY - 8}\" width=\"12\" height=\"3\" fill=\"{color}\"/>");
            svg.Append(inv, $"<text x=\"{Left + plotW + 30}\" y=\"{legendY - 3}\">{WebUtility.HtmlEncode(name)}: {values[^1]:0.#}</text>\n");
            legendY += 16;
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
