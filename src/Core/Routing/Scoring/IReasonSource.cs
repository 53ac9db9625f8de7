namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Structured data a reason is formatted from, only when someone reads it (<see cref="ReasonList"/>):
/// a plain chat call never shows its plan, so it never pays for the text.
/// </summary>
internal interface IReasonSource
{
    /// <summary>The text of one of this source's reasons (<paramref name="part"/> picks which).</summary>
    string Reason(int part);
}
