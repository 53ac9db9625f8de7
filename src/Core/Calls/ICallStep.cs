namespace MonkeyCoder.Core.Calls;

/// <summary>One step of the <see cref="CallPipeline"/>: does its part, then calls <c>next</c> (or throws to refuse).</summary>
internal interface ICallStep
{
    ValueTask RunAsync(CallContext call, CallNext next);
}
