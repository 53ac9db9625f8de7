using System.Reflection;
using Google.Protobuf.Reflection;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Tests.Auth;

public sealed class ScopesTests
{
    /// <summary>Every RPC of every service in the Contracts assembly, as its full gRPC method name.</summary>
    public static TheoryData<string> ContractMethods() => new(Methods());

    private static IEnumerable<string> Methods() =>
        typeof(MonkeyCoder.V1.RouterService).Assembly.GetTypes()
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(p => p?.PropertyType == typeof(FileDescriptor))
            .Select(p => (FileDescriptor)p!.GetValue(null)!)
            .SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .Select(m => $"/{m.Service.FullName}/{m.Name}");

    [Fact]
    public void ContractMethods_Discovered_IncludeEveryService()
    {
        var services = Methods().Select(m => m.Split('/')[1]).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "monkeycoder.v1.RouterService", "monkeycoder.v1.ModelService", "monkeycoder.v1.UsageService",
            "monkeycoder.v1.SessionService", "monkeycoder.v1.AuthService", "monkeycoder.v1.ApiKeyService",
        }, services);
    }

    [Theory]
    [MemberData(nameof(ContractMethods))]
    public void ByMethod_ContractMethod_ListedWithAScopeOrExplicitlyAnonymous(string method)
    {
        // A method missing from the table falls back to admin-only: listed means someone decided.
        Assert.True(Scopes.ByMethod.ContainsKey(method), $"{method} is not in Scopes.ByMethod");
        var scope = Scopes.ByMethod[method];
        Assert.True(scope is null || scope == Scopes.Authenticated || Scopes.IsKnown(scope), $"{method} needs unknown scope '{scope}'");
    }
}
