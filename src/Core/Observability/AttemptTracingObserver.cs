using System.Diagnostics;
using MonkeyCoder.Core.Execution;

namespace MonkeyCoder.Core.Observability;

/// <summary>Records each attempt on the attempt span current in its flow (unary attempts and stream opening).</summary>
internal sealed class AttemptTracingObserver : IAttemptObserver
{
    public void OnAttempt(AttemptRecord attempt)
    {
        if (Activity.Current is { } span && span.Source == MonkeyCoderTracing.Source && span.OperationName == MonkeyCoderTracing.AttemptSpanName)
        {
            MonkeyCoderTracing.RecordAttempt(span, attempt);
        }
    }
}
