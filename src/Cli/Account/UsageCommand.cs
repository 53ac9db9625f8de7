using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using MonkeyCoder.Cli.Tasks;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Account;

/// <summary>usage: GetUsage as a table by day/hour, provider, model or task type; --executions lists the latest executions (ListExecutions).</summary>
internal static class UsageCommand
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var by = new Option<string>("--by") { Description = "Rows by day, hour, provider, model or task", DefaultValueFactory = _ => "day" };
        by.AcceptOnlyFromAmong("day", "hour", "provider", "model", "task");
        var days = new Option<int>("--days") { Description = "How many days back (1 to 366)", DefaultValueFactory = _ => 30 };
        days.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 366)
            {
                r.AddError("--days must be 1 to 366.");
            }
        });
        var executions = new Option<int?>("--executions") { Description = "Instead of totals, list the latest N executions (1 to 500)" };
        executions.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 or > 500)
            {
                r.AddError("--executions must be 1 to 500.");
            }
        });
        var principal = new Option<string?>("--principal") { Description = "Another principal's usage (admins; default: yours, or everyone's for admins)" };
        var command = new Command("usage", "Token usage, cost, errors and latency by day, provider, model or task") { by, days, executions, principal };
        CommandRunner.SetAction(command, "usage", async (parse, connection, cancellationToken) =>
        {
            if (parse.GetValue(executions) is { } count)
            {
                return await ExecutionsAsync(connection, count, parse.GetValue(principal) ?? "", cancellationToken);
            }

            var grouping = parse.GetValue(by)!;
            var end = DateTimeOffset.UtcNow;
            var request = new GetUsageRequest
            {
                StartTime = Timestamp.FromDateTimeOffset(end.AddDays(-parse.GetValue(days))),
                EndTime = Timestamp.FromDateTimeOffset(end),
                Granularity = grouping == "hour" ? Granularity.Hour : Granularity.Day,
                PrincipalId = parse.GetValue(principal) ?? "",
            };
            var response = await connection.Usage.GetUsageAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                JsonLines.WriteMessage(response);
                return 0;
            }

            IEnumerable<(string Key, UsageTotals Totals)> rows = grouping switch
            {
                "provider" => response.ByProvider.Select(b => (b.Key, b.Totals)),
                "model" => response.ByModel.Select(b => (b.Key, b.Totals)),
                "task" => response.ByTaskType.Select(b => (b.Key, b.Totals)),
                _ => response.Buckets.Select(b => (b.StartTime.ToDateTimeOffset().ToString(grouping == "hour" ? "yyyy-MM-dd HH:00" : "yyyy-MM-dd", Invariant), b.Totals)),
            };
            var table = Tables.Create(grouping, "executions", "failed", "cached", "input tokens", "output tokens", "cost $", "error rate", "p50", "p95");
            foreach (var (key, totals) in rows)
            {
                AddRow(table, key, totals);
            }

            AddRow(table, "total", response.Totals ?? new UsageTotals());
            Tables.Out.Write(table);
            return 0;
        });
        return command;
    }

    private static void AddRow(Spectre.Console.Table table, string key, UsageTotals t) => Tables.AddRow(table,
        key,
        t.Executions.ToString("N0", Invariant),
        t.Failed.ToString("N0", Invariant),
        t.CacheHits.ToString("N0", Invariant),
        t.InputTokens.ToString("N0", Invariant),
        t.OutputTokens.ToString("N0", Invariant),
        t.CostUsd.ToString("0.######", Invariant),
        t.ErrorRate.ToString("0.0%", Invariant),
        Millis(t.LatencyP50),
        Millis(t.LatencyP95));

    private static async Task<int> ExecutionsAsync(Connection.ServiceConnection connection, int count, string principal, CancellationToken cancellationToken)
    {
        var records = new List<ExecutionRecord>();
        var token = "";
        do
        {
            var page = await connection.Usage.ListExecutionsAsync(
                new ListExecutionsRequest { PageSize = Math.Min(count - records.Count, 500), PageToken = token, PrincipalId = principal },
                deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            records.AddRange(page.Executions);
            token = page.NextPageToken;
        }
        while (token.Length > 0 && records.Count < count);

        if (connection.Settings.Json)
        {
            foreach (var record in records)
            {
                JsonLines.WriteMessage(record);
            }

            return 0;
        }

        var table = Tables.Create("time", "execution", "task", "provider/model", "status", "tokens in/out", "cost $", "latency", "cache");
        foreach (var r in records)
        {
            Tables.AddRow(table,
                KeyCommands.Time(r.CreatedTime),
                r.ExecutionId,
                TaskRunner.Name(r.TaskType),
                r.Provider.Length > 0 ? r.Provider + "/" + r.Model : "-",
                TaskRunner.Name(r.Status) + (r.ErrorClass.Length > 0 ? " (" + r.ErrorClass + ")" : ""),
                $"{r.Usage?.InputTokens ?? 0}/{r.Usage?.OutputTokens ?? 0}",
                (r.Usage?.CostUsd ?? 0).ToString("0.######", Invariant),
                Millis(r.Latency),
                r.CacheHit ? "hit" : "");
        }

        Tables.Out.Write(table);
        return 0;
    }

    private static string Millis(Duration? duration) =>
        duration is null ? "-" : duration.ToTimeSpan().TotalMilliseconds.ToString("0", Invariant) + " ms";
}
