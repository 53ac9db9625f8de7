using System.Diagnostics;
using Grpc.Core;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>RouterService: validate → plan → execute → map. Thin by design; behaviour lives in the features.</summary>
public sealed class RouterApi(TaskRequestValidator validator, ITaskRouter router, TaskExecutor executor, ICallerAccessor callers) : RouterService.RouterServiceBase
{
    public override async Task<ExecuteResponse> Execute(ExecuteRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var caller = callers.Get(context);
        var task = await executor.WithHistoryAsync(validator.Validate(request), caller, context.CancellationToken);
        var plan = await router.PlanAsync(task, context.CancellationToken);
        var outcome = await executor.ExecuteAsync(plan, NewExecutionId(), caller, context.CancellationToken);
        return ProtoMapper.ToResponse(task, outcome, Stopwatch.GetElapsedTime(started));
    }

    public override async Task StreamExecute(ExecuteRequest request, IServerStreamWriter<StreamExecuteResponse> responseStream, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var caller = callers.Get(context);
        var task = await executor.WithHistoryAsync(validator.Validate(request), caller, context.CancellationToken);
        var plan = await router.PlanAsync(task, context.CancellationToken);
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
        await foreach (var item in executor.StreamAsync(plan, executionId, caller, context.CancellationToken))
        {
            if (item.Completed is { } outcome)
            {
                await responseStream.WriteAsync(new StreamExecuteResponse { Final = ProtoMapper.ToFinal(outcome, Stopwatch.GetElapsedTime(started)) }, context.CancellationToken);
            }
            else
            {
                await responseStream.WriteAsync(new StreamExecuteResponse { Delta = new ContentDelta { Text = item.Delta, Index = index++ } }, context.CancellationToken);
            }
        }
    }

    public override async Task<RouteResponse> Route(ExecuteRequest request, ServerCallContext context)
    {
        var task = validator.Validate(request);
        var plan = await router.PlanAsync(task, context.CancellationToken);
        return new RouteResponse { Plan = ProtoMapper.ToProto(plan) };
    }

    /// <summary>Time-ordered, unique ids (UUIDv7), so executions sort by creation in storage.</summary>
    public static string NewExecutionId() => "exec_" + Guid.CreateVersion7().ToString("N");
}
