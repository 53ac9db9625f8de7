using System.Diagnostics;
using Grpc.Core;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>RouterService: validate → plan → execute → map. Thin by design; behaviour lives in the features.</summary>
internal sealed class RouterApi(
    TaskRequestValidator validator,
    ITaskRouter router,
    TaskExecutor executor,
    ICallerAccessor callers,
    IRouterStatsStore stats,
    RewardModel rewards,
    ModelCatalog catalog) : RouterService.RouterServiceBase
{
    /// <summary>Longest feedback comment accepted, in characters.</summary>
    public const int MaxCommentChars = 2000;

    public override async Task<ExecuteResponse> Execute(ExecuteRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var caller = callers.Get(context);
        var (task, plan) = await PlanAsync(request, caller, context.CancellationToken);
        await ReserveAsync(context, plan);
        var outcome = await executor.ExecuteAsync(plan, NewExecutionId(), caller, context.CancellationToken, DeadlineOf(context), Calls.CallContext.Current?.Charge);
        return ProtoMapper.ToResponse(task, outcome, Stopwatch.GetElapsedTime(started));
    }

    public override async Task StreamExecute(ExecuteRequest request, IServerStreamWriter<StreamExecuteResponse> responseStream, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var caller = callers.Get(context);
        var (task, plan) = await PlanAsync(request, caller, context.CancellationToken);
        await ReserveAsync(context, plan);
        var executionId = NewExecutionId();
        await responseStream.WriteAsync(new StreamExecuteResponse
        {
            Started = new StreamStarted
            {
                ExecutionId = executionId,
                TaskId = task.TaskId,
                Plan = ProtoMapper.ToProto(plan),
                SessionId = task.SessionId,
            },
        }, context.CancellationToken);

        var index = 0;
        await foreach (var item in executor.StreamAsync(plan, executionId, caller, context.CancellationToken, DeadlineOf(context), Calls.CallContext.Current?.Charge))
        {
            if (item.Completed is { } outcome)
            {
                await responseStream.WriteAsync(new StreamExecuteResponse { Final = ProtoMapper.ToFinal(outcome, Stopwatch.GetElapsedTime(started)) }, context.CancellationToken);
            }
            else if (item.ToolCall is { } toolCall)
            {
                await responseStream.WriteAsync(new StreamExecuteResponse { ToolCall = ProtoMapper.ToProto(toolCall) }, context.CancellationToken);
            }
            else if (!string.IsNullOrEmpty(item.Delta))
            {
                await responseStream.WriteAsync(new StreamExecuteResponse { Delta = new ContentDelta { Text = item.Delta, Index = index++ } }, context.CancellationToken);
            }
        }
    }

    public override async Task<RouteResponse> Route(ExecuteRequest request, ServerCallContext context)
    {
        var (task, model, fallbacks) = validator.ValidateCall(request);
        task = task with { AllowedModels = callers.Get(context).AllowedModels };
        var plan = await router.PlanAsync(task, Pins(model, fallbacks, task.AllowedModels), context.CancellationToken);
        return new RouteResponse { Plan = ProtoMapper.ToProto(plan) };
    }

    public override async Task<FeedbackResponse> Feedback(FeedbackRequest request, ServerCallContext context)
    {
        var violations = new List<Google.Rpc.BadRequest.Types.FieldViolation>();
        if (string.IsNullOrWhiteSpace(request.ExecutionId))
        {
            violations.Add(new() { Field = "execution_id", Description = "Required: the execution_id of a finished execution." });
        }

        if (request.Rating is < 1 or > 5)
        {
            violations.Add(new() { Field = "rating", Description = $"Required: 1 to 5; got {request.Rating}." });
        }

        if (request.Comment.Length > MaxCommentChars)
        {
            violations.Add(new() { Field = "comment", Description = $"At most {MaxCommentChars} characters." });
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        // Another principal's execution reads as unknown (admins excepted): ids must not be probeable,
        // and nobody may steer routing with ratings of answers they never received.
        var caller = callers.Get(context);
        var execution = await stats.FindExecutionAsync(request.ExecutionId, context.CancellationToken) is { } found && (found.OwnerId == caller.PrincipalId || caller.IsAdmin)
            ? found
            : throw RpcErrors.NotFound("EXECUTION_NOT_FOUND", $"No finished execution '{request.ExecutionId}' of yours is known (it may be older than the feedback window).");
        if (!await stats.TryMarkRatedAsync(request.ExecutionId, context.CancellationToken))
        {
            throw RpcErrors.Create(StatusCode.AlreadyExists, "FEEDBACK_ALREADY_RECORDED", $"Execution '{request.ExecutionId}' has already been rated; one rating per execution counts.");
        }

        var modelKey = execution.ModelKey;
        // The rating teaches the model's statistics on the execution's task type and its shared prior.
        await stats.UpdateForTaskAsync(modelKey, execution.TaskClass, rewards.ForRating(request.Rating), context.CancellationToken);
        var model = catalog.Find(modelKey, null);
        var slash = modelKey.IndexOf('/', StringComparison.Ordinal);
        return new FeedbackResponse
        {
            ExecutionId = request.ExecutionId,
            Provider = model?.Provider ?? (slash > 0 ? modelKey[..slash] : ""),
            Model = model?.Id ?? (slash > 0 ? modelKey[(slash + 1)..] : modelKey),
        };
    }

    /// <summary>Validates, adds the session's history and plans, honouring the request's model pin and fallbacks.</summary>
    private async Task<(TaskRequest Task, RoutePlan Plan)> PlanAsync(ExecuteRequest request, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var (validated, model, fallbacks) = validator.ValidateCall(request);
        var pins = Pins(model, fallbacks, caller.AllowedModels);
        var task = await executor.WithHistoryAsync(validated with { AllowedModels = caller.AllowedModels }, caller, cancellationToken);
        return (task, await router.PlanAsync(task, pins, cancellationToken));
    }

    private RoutePins Pins(string model, IReadOnlyList<string> fallbacks, IReadOnlyList<string>? allowedModels) =>
        ModelPinResolver.Resolve(catalog, model, fallbacks, allowedModels, "fallbacks",
            "List models with ModelService.ListModels (GET /v1/models), or leave model empty to route.");

    /// <summary>Holds the plan's worst-case cost against the caller's budgets before anything runs or streams.</summary>
    private static ValueTask ReserveAsync(ServerCallContext context, RoutePlan plan) =>
        Calls.CallContext.Current?.Charge?.ReserveAsync(plan, context.CancellationToken) ?? ValueTask.CompletedTask;

    /// <summary>Time-ordered, unique ids (UUIDv7), so executions sort by creation in storage.</summary>
    public static string NewExecutionId() => "exec_" + Guid.CreateVersion7().ToString("N");

    private static DateTimeOffset? DeadlineOf(ServerCallContext context) =>
        context.Deadline == DateTime.MaxValue ? null : new DateTimeOffset(DateTime.SpecifyKind(context.Deadline, DateTimeKind.Utc));
}
