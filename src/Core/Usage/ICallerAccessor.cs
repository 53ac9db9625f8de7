using Grpc.Core;

namespace MonkeyCoder.Core.Usage;

/// <summary>Resolves the caller of an RPC. The auth feature supplies the real one.</summary>
internal interface ICallerAccessor
{
    CallerIdentity Get(ServerCallContext context);
}
