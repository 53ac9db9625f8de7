using System.CommandLine;
using System.Globalization;
using Grpc.Health.V1;
using MonkeyCoder.Cli.Errors;
using MonkeyCoder.Cli.Tasks;
using MonkeyCoder.Cli.Terminal;
using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Catalog;

/// <summary>route, models, providers, health: read-only views of what the service would do and has.</summary>
internal static class CatalogCommands
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Route()
    {
        var options = new TaskOptions();
        var task = new Option<string>("--task") { Description = "Task kind to plan for", DefaultValueFactory = _ => "implement" };
        task.AcceptOnlyFromAmong(TaskKinds.RouteNames.ToArray());
        var command = new Command("route", "Show the routing plan for a task (candidates, scores, reasons) without running it");
        options.AddTo(command);
        command.Options.Add(task);
        CommandRunner.SetAction(command, "route", async (parse, connection, cancellationToken) =>
        {
            var kind = TaskKinds.Find(parse.GetValue(task)!);
            var request = await options.BuildAsync(parse, kind, options.ReadPrompt(parse), connection, cancellationToken);
            var plan = (await connection.Router.RouteAsync(request, cancellationToken: cancellationToken)).Plan;
            if (connection.Settings.Json)
            {
                JsonLines.Write(w =>
                {
                    w.WriteString("strategy", TaskRunner.Name(plan.Strategy));
                    w.WriteNumber("confidence", plan.Confidence);
                    w.WriteNumber("max_tokens", plan.MaxTokens);
                    w.WriteStartObject("analysis");
                    w.WriteNumber("complexity", plan.Analysis?.Complexity ?? 0);
                    w.WriteString("level", TaskRunner.Name(plan.Analysis?.Level ?? ComplexityLevel.Unspecified));
                    w.WriteString("context_type", TaskRunner.Name(plan.Analysis?.ContextType ?? ContextType.Unspecified));
                    w.WriteString("persona", TaskRunner.Name(plan.Analysis?.Persona ?? Persona.Unspecified));
                    w.WriteNumber("estimated_input_tokens", plan.Analysis?.EstimatedInputTokens ?? 0);
                    w.WriteEndObject();
                    JsonLines.WriteStrings(w, "reasons", plan.Reasons);
                    w.WriteStartArray("candidates");
                    foreach (var c in plan.Candidates)
                    {
                        w.WriteStartObject();
                        w.WriteString("provider", c.Provider);
                        w.WriteString("model", c.Model);
                        w.WriteNumber("score", c.Score);
                        JsonLines.WriteStrings(w, "reasons", c.Reasons);
                        w.WriteStartObject("score_breakdown");
                        foreach (var (name, value) in c.ScoreBreakdown)
                        {
                            w.WriteNumber(name, value);
                        }

                        w.WriteEndObject();
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }

            var a = plan.Analysis;
            Console.Out.WriteLine(string.Create(Invariant,
                $"strategy {TaskRunner.Name(plan.Strategy)} · confidence {plan.Confidence:0.00} · max tokens {plan.MaxTokens} · complexity {a?.Complexity:0.00} ({TaskRunner.Name(a?.Level ?? ComplexityLevel.Unspecified)}) · context {TaskRunner.Name(a?.ContextType ?? ContextType.Unspecified)} · persona {TaskRunner.Name(a?.Persona ?? Persona.Unspecified)} · ~{a?.EstimatedInputTokens} input tokens"));
            var table = Tables.Create("#", "provider", "model", "score", "reasons");
            var rank = 1;
            foreach (var c in plan.Candidates)
            {
                Tables.AddRow(table, (rank++).ToString(Invariant), c.Provider, c.Model, c.Score.ToString("0.000", Invariant), string.Join("; ", c.Reasons));
            }

            Tables.Out.Write(table);
            foreach (var reason in plan.Reasons)
            {
                Console.Out.WriteLine("- " + reason);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Models()
    {
        var provider = new Option<string?>("--provider", "-p") { Description = "Only this provider's models" };
        var deprecated = new Option<bool>("--include-deprecated") { Description = "Include deprecated models" };
        var command = new Command("models", "List the models the service can route to") { provider, deprecated };
        CommandRunner.SetAction(command, "models", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Models.ListModelsAsync(
                new ListModelsRequest { Provider = parse.GetValue(provider) ?? "", IncludeDeprecated = parse.GetValue(deprecated) },
                cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                foreach (var m in response.Models)
                {
                    JsonLines.Write(w =>
                    {
                        w.WriteString("id", m.Id);
                        w.WriteString("provider", m.Provider);
                        w.WriteString("display_name", m.DisplayName);
                        w.WriteNumber("context_window", m.ContextWindow);
                        w.WriteNumber("max_output_tokens", m.MaxOutputTokens);
                        w.WriteNumber("input_price_per_million", m.InputPricePerMillion);
                        w.WriteNumber("output_price_per_million", m.OutputPricePerMillion);
                        w.WriteString("status", TaskRunner.Name(m.Status));
                        w.WriteBoolean("reasoning", m.Reasoning);
                    });
                }

                return ExitCodes.Ok;
            }

            var table = Tables.Create("provider", "model", "context", "max out", "$/M in", "$/M out", "status", "aliases");
            foreach (var m in response.Models)
            {
                Tables.AddRow(table, m.Provider, m.Id, m.ContextWindow.ToString("N0", Invariant), m.MaxOutputTokens.ToString("N0", Invariant),
                    m.InputPricePerMillion.ToString("0.###", Invariant), m.OutputPricePerMillion.ToString("0.###", Invariant),
                    TaskRunner.Name(m.Status) + (m.Replacement.Length > 0 ? " → " + m.Replacement : ""), string.Join(", ", m.Aliases));
            }

            Tables.Out.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Providers()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Include providers that are configured but disabled (no key)" };
        var command = new Command("providers", "List providers with their health") { all };
        CommandRunner.SetAction(command, "providers", async (parse, connection, cancellationToken) =>
        {
            var response = await connection.Models.ListProvidersAsync(new ListProvidersRequest { IncludeDisabled = parse.GetValue(all) }, cancellationToken: cancellationToken);
            if (connection.Settings.Json)
            {
                foreach (var p in response.Providers)
                {
                    JsonLines.Write(w =>
                    {
                        w.WriteString("name", p.Name);
                        w.WriteString("display_name", p.DisplayName);
                        w.WriteString("protocol", p.Protocol);
                        w.WriteBoolean("enabled", p.Enabled);
                        w.WriteString("health", TaskRunner.Name(p.Health));
                        w.WriteString("health_detail", p.HealthDetail);
                        w.WriteNumber("model_count", p.ModelCount);
                        w.WriteString("base_url", p.BaseUrl);
                    });
                }

                return ExitCodes.Ok;
            }

            var table = Tables.Create("provider", "protocol", "enabled", "health", "models", "detail");
            foreach (var p in response.Providers)
            {
                Tables.AddRow(table, p.Name, p.Protocol, p.Enabled ? "yes" : "no", TaskRunner.Name(p.Health), p.ModelCount.ToString(Invariant), p.HealthDetail);
            }

            Tables.Out.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Health()
    {
        var service = new Argument<string[]>("service")
        {
            Description = "Services to check (default: the server, monkeycoder.v1.RouterService, monkeycoder.v1.ModelService)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("health", "Check the service's health (grpc.health.v1); exits 5 unless all are SERVING") { service };
        CommandRunner.SetAction(command, "health", async (parse, connection, cancellationToken) =>
        {
            var names = parse.GetValue(service) is { Length: > 0 } given ? given : ["", "monkeycoder.v1.RouterService", "monkeycoder.v1.ModelService"];
            var healthy = true;
            var table = Tables.Create("service", "status");
            foreach (var name in names)
            {
                var status = (await connection.Health.CheckAsync(new HealthCheckRequest { Service = name }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken)).Status;
                healthy &= status == HealthCheckResponse.Types.ServingStatus.Serving;
                var label = name.Length == 0 ? "(server)" : name;
                if (connection.Settings.Json)
                {
                    JsonLines.Write(w =>
                    {
                        w.WriteString("service", name);
                        w.WriteString("status", TaskRunner.Name(status));
                    });
                }
                else
                {
                    Tables.AddRow(table, label, TaskRunner.Name(status).ToUpperInvariant());
                }
            }

            if (!connection.Settings.Json)
            {
                Console.Out.WriteLine($"{connection.Settings.BaseUrl}: {(healthy ? "healthy" : "NOT healthy")}");
                Tables.Out.Write(table);
            }

            if (!healthy)
            {
                Console.Error.WriteLine("error: health check failed: at least one service is not SERVING. Check the service's logs and /readyz.");
            }

            return healthy ? ExitCodes.Ok : ExitCodes.Unavailable;
        });
        return command;
    }
}
