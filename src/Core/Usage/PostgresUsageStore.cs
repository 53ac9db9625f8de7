using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Usage in PostgreSQL. Writes go through binary COPY into a temporary staging table, then one
/// INSERT … ON CONFLICT DO NOTHING: fast, and a batch retried after an ambiguous failure (the
/// commit reached the server but the acknowledgement did not reach us) is never counted twice.
/// Each batch write is timed as <c>monkeycoder.dependency.duration</c> (postgres, usage_copy).
/// </summary>
internal sealed class PostgresUsageStore(NpgsqlDataSource dataSource, Observability.MonkeyCoderMetrics? metrics = null) : IUsageStore
{
    private const string Columns =
        "execution_id, created_at, principal_id, api_key_id, task_type, strategy, provider, model, status, error_class, " +
        "input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms, cache_hit, attempts, " +
        "billed_input_tokens, billed_output_tokens, billed_cost_usd, cached_input_tokens, cache_write_input_tokens";

    public async Task<UsageStoreIdentity> GetIdentityAsync(CancellationToken cancellationToken)
    {
        // pg_control_system() is readable by any role; system_identifier is fixed when the cluster is created.
        await using var command = dataSource.CreateCommand("SELECT system_identifier::text, current_database() FROM pg_control_system()");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new UsageStoreIdentity(reader.GetString(0), reader.GetString(1));
    }

    public async Task WriteAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var call = metrics?.StartDependencyCall("postgres", "usage_copy");
        try
        {
            await CopyAsync(batch, cancellationToken);
            call?.Complete(true);
        }
        catch
        {
            call?.Complete(false);
            throw;
        }
    }

    private async Task CopyAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE usage_staging (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DROP", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var importer = await connection.BeginBinaryImportAsync($"COPY usage_staging ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var e in batch)
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(e.ExecutionId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
                await importer.WriteAsync(e.PrincipalId, NpgsqlDbType.Text, cancellationToken);
                if (e.ApiKeyId is null)
                {
                    await importer.WriteNullAsync(cancellationToken);
                }
                else
                {
                    await importer.WriteAsync(e.ApiKeyId, NpgsqlDbType.Text, cancellationToken);
                }

                await importer.WriteAsync((short)e.TaskType, NpgsqlDbType.Smallint, cancellationToken);
                await importer.WriteAsync((short)e.Strategy, NpgsqlDbType.Smallint, cancellationToken);
                await importer.WriteAsync(e.Provider, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.Model, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync((short)e.Status, NpgsqlDbType.Smallint, cancellationToken);
                await importer.WriteAsync(e.ErrorClass, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.InputTokens, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.OutputTokens, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.CostUsd, NpgsqlDbType.Double, cancellationToken);
                await importer.WriteAsync(e.LatencyMs, NpgsqlDbType.Double, cancellationToken);
                if (e.TimeToFirstTokenMs is { } ttft)
                {
                    await importer.WriteAsync(ttft, NpgsqlDbType.Double, cancellationToken);
                }
                else
                {
                    await importer.WriteNullAsync(cancellationToken);
                }

                await importer.WriteAsync(e.CacheHit, NpgsqlDbType.Boolean, cancellationToken);
                await importer.WriteAsync(JsonSerializer.Serialize(e.Attempts, UsageJsonContext.Default.IReadOnlyListUsageAttempt), NpgsqlDbType.Jsonb, cancellationToken);
                await importer.WriteAsync(e.BilledInputTokens, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.BilledOutputTokens, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.BilledCostUsd, NpgsqlDbType.Double, cancellationToken);
                await importer.WriteAsync(e.CachedInputTokens, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.CacheWriteInputTokens, NpgsqlDbType.Bigint, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }

        await using (var insert = new NpgsqlCommand($"INSERT INTO usage_events ({Columns}) SELECT {Columns} FROM usage_staging ON CONFLICT (execution_id) DO NOTHING", connection, transaction))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<UsageReport> GetUsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        // One round trip: GROUPING SETS gives the totals, the time buckets and each breakdown.
        const string sql = """
            SELECT GROUPING(bucket) AS g_bucket, GROUPING(provider) AS g_provider, GROUPING(model) AS g_model, GROUPING(task_type) AS g_task,
                   bucket, provider, model, task_type,
                   count(*), count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE cache_hit),
                   coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint, coalesce(sum(cost_usd), 0),
                   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), 0),
                   coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms), 0),
                   coalesce(sum(billed_input_tokens), 0)::bigint, coalesce(sum(billed_output_tokens), 0)::bigint, coalesce(sum(billed_cost_usd), 0)
            FROM (SELECT date_trunc(@unit, created_at AT TIME ZONE 'UTC') AS bucket, * FROM usage_events
                  WHERE created_at >= @start AND created_at < @end AND (@principal::text IS NULL OR principal_id = @principal)) e
            GROUP BY GROUPING SETS ((), (bucket), (provider), (provider, model), (task_type))
            """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("unit", query.Hourly ? "hour" : "day");
        command.Parameters.AddWithValue("start", query.Start.UtcDateTime);
        command.Parameters.AddWithValue("end", query.End.UtcDateTime);
        command.Parameters.Add(new NpgsqlParameter("principal", NpgsqlDbType.Text) { Value = (object?)query.PrincipalId ?? DBNull.Value });

        var totals = UsageAggregate.Empty;
        var buckets = new List<(DateTimeOffset, UsageAggregate)>();
        var byProvider = new List<(string, UsageAggregate)>();
        var byModel = new List<(string, UsageAggregate)>();
        var byTask = new List<(int, UsageAggregate)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var aggregate = new UsageAggregate(
                reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11),
                reader.GetInt64(12), reader.GetInt64(13), reader.GetDouble(14), reader.GetDouble(15), reader.GetDouble(16))
            {
                Billed = new BilledUsage(reader.GetInt64(17), reader.GetInt64(18), reader.GetDouble(19)),
            };
            var (gBucket, gProvider, gModel, gTask) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3));
            if (gBucket == 1 && gProvider == 1 && gModel == 1 && gTask == 1)
            {
                totals = aggregate;
            }
            else if (gBucket == 0)
            {
                buckets.Add((new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc)), aggregate));
            }
            else if (gModel == 0)
            {
                if (reader.GetString(5).Length > 0)
                {
                    byModel.Add(($"{reader.GetString(5)}/{reader.GetString(6)}", aggregate));
                }
            }
            else if (gProvider == 0)
            {
                if (reader.GetString(5).Length > 0)
                {
                    byProvider.Add((reader.GetString(5), aggregate));
                }
            }
            else if (gTask == 0)
            {
                byTask.Add((reader.GetInt16(7), aggregate));
            }
        }

        return new UsageReport(
            totals,
            buckets.OrderBy(b => b.Item1).ToList(),
            byProvider.OrderBy(b => b.Item1, StringComparer.Ordinal).ToList(),
            byModel.OrderBy(b => b.Item1, StringComparer.Ordinal).ToList(),
            byTask.OrderBy(b => b.Item1).ToList());
    }

    public async Task<IReadOnlyList<UsageEvent>> ListAsync(string? principalId, (DateTimeOffset CreatedAt, string ExecutionId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = $"""
            SELECT {Columns} FROM usage_events
            WHERE (@principal::text IS NULL OR principal_id = @principal)
              AND (@after_at::timestamptz IS NULL OR (created_at, execution_id) < (@after_at, @after_id))
            ORDER BY created_at DESC, execution_id DESC
            LIMIT @limit
            """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter("principal", NpgsqlDbType.Text) { Value = (object?)principalId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("after_at", NpgsqlDbType.TimestampTz) { Value = after is { } a ? a.CreatedAt.UtcDateTime : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("after_id", NpgsqlDbType.Text) { Value = (object?)after?.ExecutionId ?? DBNull.Value });
        command.Parameters.AddWithValue("limit", limit);

        var events = new List<UsageEvent>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new UsageEvent
            {
                ExecutionId = reader.GetString(0),
                CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)),
                PrincipalId = reader.GetString(2),
                ApiKeyId = reader.IsDBNull(3) ? null : reader.GetString(3),
                TaskType = reader.GetInt16(4),
                Strategy = reader.GetInt16(5),
                Provider = reader.GetString(6),
                Model = reader.GetString(7),
                Status = reader.GetInt16(8),
                ErrorClass = reader.GetString(9),
                InputTokens = reader.GetInt64(10),
                OutputTokens = reader.GetInt64(11),
                CostUsd = reader.GetDouble(12),
                LatencyMs = reader.GetDouble(13),
                TimeToFirstTokenMs = reader.IsDBNull(14) ? null : reader.GetDouble(14),
                CacheHit = reader.GetBoolean(15),
                Attempts = JsonSerializer.Deserialize(reader.GetString(16), UsageJsonContext.Default.IReadOnlyListUsageAttempt) ?? [],
                BilledInputTokens = reader.GetInt64(17),
                BilledOutputTokens = reader.GetInt64(18),
                BilledCostUsd = reader.GetDouble(19),
                CachedInputTokens = reader.GetInt64(20),
                CacheWriteInputTokens = reader.GetInt64(21),
            });
        }

        return events;
    }

    public async Task<MonthSpend> MonthSpendAsync(string? keyId, string userId, DateTimeOffset monthStart, CancellationToken cancellationToken)
    {
        // One range scan of usage_events_principal_idx (principal_id, created_at): the user's events of the month.
        // Each event rounds to micro-USD half away from zero, as the limits' settlement does (numeric round).
        const string sql = """
            SELECT coalesce(sum(round((billed_cost_usd * 1000000)::numeric)) FILTER (WHERE api_key_id = @key), 0)::bigint,
                   coalesce(sum(round((billed_cost_usd * 1000000)::numeric)), 0)::bigint
            FROM usage_events
            WHERE principal_id = @user AND created_at >= @start AND created_at < @end
            """;
        var call = metrics?.StartDependencyCall("postgres", "usage_month_spend");
        try
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)keyId ?? DBNull.Value });
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("start", monthStart.UtcDateTime);
            command.Parameters.AddWithValue("end", monthStart.AddMonths(1).UtcDateTime);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var spend = new MonthSpend(reader.GetInt64(0), reader.GetInt64(1));
            call?.Complete(true);
            return spend;
        }
        catch
        {
            call?.Complete(false);
            throw;
        }
    }

    public async Task<long> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM usage_events WHERE created_at < @cutoff");
        command.Parameters.AddWithValue("cutoff", cutoff.UtcDateTime);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
