namespace MonkeyCoder.Core.Providers;

public sealed class ModelScoresOptions
{
    public double CodeGeneration { get; set; } = 0.5;

    public double Reasoning { get; set; } = 0.5;

    public double Reliability { get; set; } = 0.9;
}
