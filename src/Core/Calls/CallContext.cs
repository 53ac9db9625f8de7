using System.Net;
using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// Everything one call knows about itself, from the first step of the <see cref="CallPipeline"/> to
/// the handler: the operation, the edge it came in on, its principal, deadline and cancellation, its
/// telemetry scope and its usage charge and admission. The one place request state lives: steps and
/// handlers read and write it here, never through ServerCallContext.UserState or HttpContext.Items.
/// Code deep in the engine that has no parameter for it (attempt metrics, the error scrubber) reads
/// <see cref="Current"/>, set by the pipeline for the call's async flow.
/// </summary>
internal sealed class CallContext
{
    private static readonly AsyncLocal<CallContext?> Ambient = new();

    public CallContext(string operation, string rpc, ICallEdge edge, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        Operation = operation;
        Rpc = rpc;
        Edge = edge;
        CancellationToken = cancellationToken;
        Deadline = deadline;
    }

    /// <summary>The call running on this async flow, if any.</summary>
    public static CallContext? Current
    {
        get => Ambient.Value;
        internal set => Ambient.Value = value;
    }

    /// <summary>
    /// What the scopes, limits and logs key the call by: the full gRPC method (<c>/package.Service/Method</c>)
    /// or, on an HTTP edge, the edge's prefix and operation (<c>/openai/openai.chat.completions</c>).
    /// </summary>
    public string Operation { get; }

    /// <summary>"Service/Method" (or "OpenAi/ChatCompletions"): the call's name in metrics, logs and traces.</summary>
    public string Rpc { get; }

    /// <summary>The adapter the call came in on: its headers, response and how it renders a failure.</summary>
    public ICallEdge Edge { get; }

    /// <summary>The handler the pipeline runs inside its steps (set by <see cref="CallPipeline.RunAsync"/>).</summary>
    internal CallNext? Handler { get; set; }

    public CancellationToken CancellationToken { get; }

    /// <summary>The caller's deadline (UTC), or null without one.</summary>
    public DateTime? Deadline { get; }

    /// <summary>The request message as the edge received it (a protobuf message on gRPC; null on HTTP).</summary>
    public object? Request { get; init; }

    /// <summary>Whether the answer is a server stream (counted in the active-streams gauge by the telemetry step).</summary>
    public bool IsStream { get; init; }

    /// <summary>Whether admission (rate limits, budgets) applies; an edge may exempt read-only operations.</summary>
    public bool Admitted { get; init; } = true;

    /// <summary>The telemetry scope: request id, principal id, provider and model, provider time. Set by the telemetry step.</summary>
    public RequestTelemetry? Telemetry { get; internal set; }

    /// <summary>When the call started (<see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long Started { get; internal set; }

    /// <summary>The authenticated caller; null for anonymous operations and when authentication is off.</summary>
    public Principal? Principal { get; private set; }

    /// <summary>The task the call asks for, mapped by the edge (<see cref="ICallEdge.BindAsync"/>) before admission; null for other operations.</summary>
    public TaskRequest? Task { get; internal set; }

    /// <summary>Whether the caller named the task's max tokens (else admission estimates with the configured default).</summary>
    public bool MaxTokensNamed { get; internal set; }

    /// <summary>What the edge made of the request for its handler (e.g. the OpenAI edge's validated chat call).</summary>
    public object? Input { get; internal set; }

    /// <summary>
    /// What the call's execution records as usage, for settlement; carries the budget hold once admission
    /// gave it one. Null when nothing settles the call (limits off, anonymous) unless the edge brought its own.
    /// </summary>
    public UsageCharge? Charge { get; internal set; }

    /// <summary>
    /// Set by an HTTP handler whose answer had started (200, a stream) when it failed and ended with an
    /// error event: the HTTP status that error stands for, which telemetry records instead of the 200.
    /// </summary>
    public int? FailedHttpStatus { get; set; }

    /// <summary>The admission to settle when the call ends; null when no limit applied.</summary>
    internal Admission? Admission { get; set; }

    /// <summary>The caller as usage, sessions and routing need it.</summary>
    public CallerIdentity Caller => Principal is { } principal
        ? new CallerIdentity(principal.Id, principal.ApiKeyId, principal.IsAdmin, principal.Limits.AllowedModels)
        : CallerIdentity.Anonymous;

    /// <summary>The operation as a message names it: the gRPC method, or the HTTP edge's operation without its prefix.</summary>
    public string OperationName => Operation.StartsWith(CallOperations.EdgePrefix, StringComparison.Ordinal) ? Operation[CallOperations.EdgePrefix.Length..] : Operation;

    /// <summary>Keeps the principal for the call and puts its id (never a credential) in the call's log scope.</summary>
    public void Authenticated(Principal principal)
    {
        Principal = principal;
        if (Telemetry is { } telemetry)
        {
            telemetry.PrincipalId = principal.Id;
        }
    }

    /// <summary>The caller's client address (IPv4-mapped addresses as IPv4 are left to the limiter).</summary>
    public IPAddress? ClientAddress => Edge.Http?.Connection.RemoteIpAddress;

    /// <summary>The HTTP response of the call, for headers (rate limits, retry-after); null when the edge has none.</summary>
    public HttpResponse? Response => Edge.Http?.Response;

    private readonly Lock _deferGate = new();
    private List<Task>? _afterAnswer;
    private bool _settling;

    /// <summary>
    /// Hands over a store write that records what the call did but that nothing in its answer reads
    /// (the breaker's and the learning statistics' update after a success, which model answered for
    /// the Feedback RPC). The write is already sent; the settlement step awaits it together with the
    /// settlement, so with a shared store its round trip overlaps that one instead of holding the
    /// answer. Writes from one process reach Redis in order over its one connection, so a later
    /// read (the next call's plan, a Feedback) still finds them. False once the call is settling:
    /// the caller awaits the write itself.
    /// </summary>
    public bool TryDefer(Task write)
    {
        lock (_deferGate)
        {
            if (_settling)
            {
                return false;
            }

            (_afterAnswer ??= new List<Task>(4)).Add(write);
            return true;
        }
    }

    /// <summary>The writes handed over by <see cref="TryDefer"/>; from here on the call takes no more.</summary>
    internal List<Task>? TakeDeferred()
    {
        lock (_deferGate)
        {
            _settling = true;
            var writes = _afterAnswer;
            _afterAnswer = null;
            return writes;
        }
    }

    /// <summary>
    /// <paramref name="write"/> handed to the current call (<see cref="TryDefer"/>) when there is one
    /// still running, else awaited here: the write always completes, only where it is awaited changes.
    /// </summary>
    internal static ValueTask AfterAnswer(ValueTask write)
    {
        if (write.IsCompletedSuccessfully)
        {
            return ValueTask.CompletedTask;
        }

        var task = write.AsTask();
        return Current is { } call && call.TryDefer(task) ? ValueTask.CompletedTask : new ValueTask(task);
    }
}
