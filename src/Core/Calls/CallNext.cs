namespace MonkeyCoder.Core.Calls;

/// <summary>The rest of the pipeline after a step (ending with the handler).</summary>
internal delegate ValueTask CallNext(CallContext call);
