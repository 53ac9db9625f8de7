namespace MonkeyCoder.Core.Calls;

/// <summary>The exception the test fault hook (<see cref="FaultInjectionStep"/>) throws.</summary>
internal sealed class InjectedFaultException : Exception
{
    public InjectedFaultException()
    {
    }

    public InjectedFaultException(string message)
        : base(message)
    {
    }

    public InjectedFaultException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
