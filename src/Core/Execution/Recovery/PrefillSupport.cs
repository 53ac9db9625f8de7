using System.Collections.Concurrent;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution.Recovery;

/// <summary>
/// Which continuation form a model gets: its catalog flag <c>supportsAssistantPrefill</c>, unless it
/// rejected a prefill since this process started (remembered per provider/model, so the next
/// recovery goes straight to the instruction form). Per process: a replica that has not seen the
/// rejection pays one extra, immediate 400.
/// </summary>
internal sealed class PrefillSupport
{
    private readonly ConcurrentDictionary<string, byte> _rejected = new(StringComparer.OrdinalIgnoreCase);

    public ContinuationForm FormFor(CatalogModel model) =>
        model.SupportsAssistantPrefill == true && !_rejected.ContainsKey(model.Key) ? ContinuationForm.Prefill : ContinuationForm.Instruction;

    public void Rejected(CatalogModel model) => _rejected.TryAdd(model.Key, 0);
}
