namespace MonkeyCoder.Core.Limits;

/// <summary>An admitted call: what it asked of the limiter, the decision, and its budget hold (null without a budget). Settled once when the call ends.</summary>
internal sealed record Admission(LimitRequest Request, LimitDecision Decision, BudgetHold? Hold);
