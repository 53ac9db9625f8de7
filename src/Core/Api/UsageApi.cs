using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Grpc.Core;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// UsageService: callers see their own usage; admins anyone's (or everyone's). While PostgreSQL is
/// unreachable GetUsage answers a caller's own last answer to the same request, marked stale
/// (<see cref="UsageReadCache"/>); a caller without one gets UNAVAILABLE with RetryInfo.
/// </summary>
internal sealed class UsageApi(IUsageStore store, ICallerAccessor callers, TimeProvider time, UsageReadCache staleReads) : UsageService.UsageServiceBase
{
    /// <summary>Longest range one GetUsage call may cover. Defaults to 366 days.</summary>
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public override async Task<GetUsageResponse> GetUsage(GetUsageRequest request, ServerCallContext context)
    {
        var caller = callers.Get(context);
        var end = request.EndTime?.ToDateTimeOffset() ?? time.GetUtcNow();
        var start = request.StartTime?.ToDateTimeOffset() ?? end.AddDays(-30);
        if (start >= end)
        {
            throw RpcErrors.InvalidArgument("start_time", "Must be before end_time.");
        }

        if (end - start > MaxRange)
        {
            throw RpcErrors.InvalidArgument("start_time", "The range may cover at most 366 days.");
        }

        if (!System.Enum.IsDefined(request.Granularity))
        {
            throw RpcErrors.InvalidArgument("granularity", "Unknown granularity.");
        }

        var scope = Scope(caller, request.PrincipalId);
        var hourly = request.Granularity == Granularity.Hour;
        var key = UsageReadKey.For(caller, scope, hourly, start, end, request.EndTime is not null);
        // A range that ends now ends at as_of; an absolute one was read now.
        var asOf = request.EndTime is null ? end : time.GetUtcNow();
        UsageReport report;
        try
        {
            report = await store.GetUsageAsync(new UsageQuery(start, end, hourly, scope), context.CancellationToken);
        }
        catch (Exception ex) when (Storage.StorageFailures.IsUnavailable(ex) && staleReads.TryGetStale(key, out var payload, out var cachedAt))
        {
            // Stale-if-error: the caller's own last answer to this request, marked as such.
            var stale = GetUsageResponse.Parser.ParseFrom(payload);
            stale.Stale = true;
            stale.AsOf = Timestamp.FromDateTimeOffset(cachedAt);
            return stale;
        }

        var response = ToProto(report, asOf);
        if (staleReads.Enabled)
        {
            staleReads.Store(key, response.ToByteArray(), asOf);
        }

        return response;
    }

    private static GetUsageResponse ToProto(UsageReport report, DateTimeOffset asOf)
    {
        var response = new GetUsageResponse { Totals = ToProto(report.Totals), AsOf = Timestamp.FromDateTimeOffset(asOf) };
        response.Buckets.AddRange(report.Buckets.Select(b => new UsageBucket { StartTime = Timestamp.FromDateTimeOffset(b.Start), Totals = ToProto(b.Totals) }));
        response.ByProvider.AddRange(report.ByProvider.Select(b => new UsageBreakdown { Key = b.Key, Totals = ToProto(b.Totals) }));
        response.ByModel.AddRange(report.ByModel.Select(b => new UsageBreakdown { Key = b.Key, Totals = ToProto(b.Totals) }));
        response.ByTaskType.AddRange(report.ByTaskType.Select(b => new UsageBreakdown
        {
            Key = System.Enum.IsDefined((TaskType)b.TaskType) ? ((TaskType)b.TaskType).ToString() : b.TaskType.ToString(CultureInfo.InvariantCulture),
            Totals = ToProto(b.Totals),
        }));
        return response;
    }

    public override async Task<ListExecutionsResponse> ListExecutions(ListExecutionsRequest request, ServerCallContext context)
    {
        var caller = callers.Get(context);
        if (request.PageSize is < 0 or > 500)
        {
            throw RpcErrors.InvalidArgument("page_size", "Must be between 1 and 500.");
        }

        var size = request.PageSize == 0 ? 50 : request.PageSize;
        var after = request.PageToken.Length == 0 ? ((DateTimeOffset, string)?)null : ParseToken(request.PageToken);
        var events = await store.ListAsync(Scope(caller, request.PrincipalId), after, size + 1, context.CancellationToken);

        var response = new ListExecutionsResponse();
        foreach (var e in events.Take(size))
        {
            var record = new ExecutionRecord
            {
                ExecutionId = e.ExecutionId,
                CreatedTime = Timestamp.FromDateTimeOffset(e.CreatedAt),
                PrincipalId = e.PrincipalId,
                ApiKeyId = e.ApiKeyId ?? "",
                TaskType = (TaskType)e.TaskType,
                Strategy = (Strategy)e.Strategy,
                Provider = e.Provider,
                Model = e.Model,
                Status = (ExecutionStatus)e.Status,
                ErrorClass = e.ErrorClass,
                Usage = new V1.Usage
                {
                    InputTokens = e.InputTokens, OutputTokens = e.OutputTokens, TotalTokens = e.InputTokens + e.OutputTokens, CostUsd = e.CostUsd,
                    CachedInputTokens = e.CachedInputTokens, CacheWriteInputTokens = e.CacheWriteInputTokens,
                },
                Latency = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(e.LatencyMs)),
                TimeToFirstToken = e.TimeToFirstTokenMs is { } t ? Duration.FromTimeSpan(TimeSpan.FromMilliseconds(t)) : null,
                CacheHit = e.CacheHit,
                Billed = ProtoMapper.ToProto(e.Billed),
            };
            record.Attempts.AddRange(e.Attempts.Select(a => new Attempt
            {
                Provider = a.Provider,
                Model = a.Model,
                Outcome = a.Outcome,
                Latency = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(a.LatencyMs)),
                TimeToFirstToken = a.TimeToFirstTokenMs is { } at ? Duration.FromTimeSpan(TimeSpan.FromMilliseconds(at)) : null,
                Usage = new V1.Usage { InputTokens = a.InputTokens, OutputTokens = a.OutputTokens, TotalTokens = a.InputTokens + a.OutputTokens, CostUsd = a.CostUsd },
            }));
            response.Executions.Add(record);
        }

        if (events.Count > size)
        {
            var last = events[size - 1];
            response.NextPageToken = $"{last.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}_{last.ExecutionId}";
        }

        return response;
    }

    /// <summary>Whose usage a caller may read: their own, or (admins) anyone's or all.</summary>
    private static string? Scope(CallerIdentity caller, string requested)
    {
        if (caller.IsAdmin)
        {
            return requested.Length == 0 ? null : requested;
        }

        if (requested.Length > 0 && requested != caller.PrincipalId)
        {
            throw RpcErrors.PermissionDenied("USAGE_SCOPE_DENIED", "Only admins can read another principal's usage.");
        }

        return caller.PrincipalId;
    }

    private static (DateTimeOffset, string) ParseToken(string token)
    {
        var split = token.IndexOf('_', StringComparison.Ordinal);
        if (split <= 0 || !long.TryParse(token.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            throw RpcErrors.InvalidArgument("page_token", "Not a token from a previous response.");
        }

        return (new DateTimeOffset(ticks, TimeSpan.Zero), token[(split + 1)..]);
    }

    private static UsageTotals ToProto(UsageAggregate a) => new()
    {
        Executions = a.Executions,
        Succeeded = a.Succeeded,
        Failed = a.Failed,
        CacheHits = a.CacheHits,
        InputTokens = a.InputTokens,
        OutputTokens = a.OutputTokens,
        CostUsd = Math.Round(a.CostUsd, 8),
        ErrorRate = Math.Round(a.ErrorRate, 6),
        LatencyP50 = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(a.LatencyP50Ms)),
        LatencyP95 = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(a.LatencyP95Ms)),
        BilledInputTokens = a.Billed.InputTokens,
        BilledOutputTokens = a.Billed.OutputTokens,
        BilledCostUsd = Math.Round(a.Billed.CostUsd, 8),
    };
}
