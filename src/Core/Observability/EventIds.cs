namespace MonkeyCoder.Core.Observability;

/// <summary>Every log event id the service uses, in one list so ids never collide. Ranges by feature.</summary>
public static class EventIds
{
    // 1000–1099 hosting and configuration
    public const int Started = 1000;
    public const int EmbeddedDefaults = 1001;

    // 1100–1199 API and errors
    public const int UnhandledException = 1100;
    public const int RequestFailed = 1101;

    // 1200–1299 routing
    public const int RoutePlanned = 1200;

    // 1300–1399 execution
    public const int AttemptFailed = 1300;
    public const int FailingOver = 1301;
    public const int ExecutionCompleted = 1302;

    // 1400–1499 providers
    public const int SimulatedStreamStopped = 1400;
}
