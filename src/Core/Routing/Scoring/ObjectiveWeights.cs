using System.ComponentModel.DataAnnotations;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// How much one routing objective weighs relative cost and relative latency against capability:
/// score = (1 − Cost − Latency)·capability + Cost·cost score + Latency·latency score.
/// </summary>
internal sealed class ObjectiveWeights
{
    [Range(0.0, 1.0, ErrorMessage = "Objective weights (MonkeyCoder:Routing:Scoring:<objective>:Cost) must be between 0 and 1.")]
    public double Cost { get; set; }

    [Range(0.0, 1.0, ErrorMessage = "Objective weights (MonkeyCoder:Routing:Scoring:<objective>:Latency) must be between 0 and 1.")]
    public double Latency { get; set; }
}
