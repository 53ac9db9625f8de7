using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// Admits or refuses an authenticated call by its principal's request, token and budget limits
/// (<see cref="RequestLimits"/>), charging the one estimate (<see cref="AdmissionEstimate"/>) over the
/// task the edge mapped. An admitted call gets a <see cref="UsageCharge"/> (the edge's own, or a new
/// one) and, when a budget applies, the budget hold the router's plan takes before anything runs; the
/// settlement step settles both.
/// </summary>
internal sealed class AdmissionStep(RequestLimits limits) : ICallStep
{
    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        if (call.Admitted && limits.Enabled && call.Principal is { } principal)
        {
            var estimate = call.Task is { } task ? AdmissionEstimate.Tokens(task, call.MaxTokensNamed, limits.DefaultMaxTokens) : 0;
            if (await limits.AdmitAsync(principal, call.Operation, estimate, call.Response, call.CancellationToken) is { } admitted)
            {
                // Settled with what usage recorded, answer or not: a failed or cancelled execution's attempts were really spent.
                var charge = call.Charge ??= new UsageCharge();
                call.Admission = new Admission(admitted.Request, admitted.Decision, limits.AttachHold(admitted, charge));
            }
        }

        await next(call);
    }
}
