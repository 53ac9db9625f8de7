using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Limits;

/// <summary>Default limits for every credential; a key's own columns override them. Section <c>MonkeyCoder:Limits</c>.</summary>
public sealed class LimitOptions
{
    public const string Section = "MonkeyCoder:Limits";

    /// <summary><c>RATE_LIMIT_ENABLED</c>. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>RATE_LIMIT_REQUESTS_PER_MINUTE</c>: calls per credential per RPC in any 60 s window. Defaults to 600.</summary>
    [Range(1, 10_000_000, ErrorMessage = "RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) must be between 1 and 10000000.")]
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary><c>RATE_LIMIT_TOKENS_PER_MINUTE</c>: model tokens per credential per minute (estimated before a call, corrected after). Defaults to 2,000,000.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RATE_LIMIT_TOKENS_PER_MINUTE (MonkeyCoder:Limits:TokensPerMinute) must be at least 1.")]
    public int TokensPerMinute { get; set; } = 2_000_000;

    /// <summary><c>MONTHLY_BUDGET_USD</c>: default monthly spend cap per user, across all of the user's keys and sessions (an admin may set another per user); unset = none.</summary>
    [Range(0, 1e9, ErrorMessage = "MONTHLY_BUDGET_USD (MonkeyCoder:Limits:MonthlyBudgetUsd) must be between 0 and 1e9.")]
    public double? MonthlyBudgetUsd { get; set; }

    /// <summary>Output tokens assumed when a request sets no max_tokens. Defaults to 4096 (the request default).</summary>
    [Range(1, 1_000_000, ErrorMessage = "MonkeyCoder:Limits:DefaultMaxTokens must be between 1 and 1000000.")]
    public int DefaultMaxTokens { get; set; } = 4096;
}

[OptionsValidator]
internal sealed partial class LimitOptionsValidator : IValidateOptions<LimitOptions>;
