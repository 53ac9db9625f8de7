namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Scopes, roles and the scope each operation needs. One static table keyed by the full gRPC method name
/// (<c>/package.Service/Method</c>), so a REST call (transcoded) and a gRPC call check the same entry,
/// and by the HTTP edges' operations (<c>/openai/…</c>), checked by the same pipeline step.
/// A method missing from the table needs <see cref="Admin"/>: new RPCs fail closed until listed here.
/// </summary>
internal static class Scopes
{
    public const string Execute = "execute";
    public const string Route = "route";
    public const string ModelsRead = "models:read";
    public const string KeysRead = "keys:read";
    public const string KeysWrite = "keys:write";
    public const string UsageRead = "usage:read";
    public const string Sessions = "sessions";
    public const string Admin = "admin";

    /// <summary>Marks an RPC that needs a valid credential but no particular scope.</summary>
    public const string Authenticated = "";

    public static readonly IReadOnlyList<string> All = [Execute, Route, ModelsRead, KeysRead, KeysWrite, UsageRead, Sessions, Admin];

    public static class Roles
    {
        public const string AdminRole = "admin";
        public const string Developer = "developer";
        public const string Viewer = "viewer";
    }

    /// <summary>Role → scopes it grants. <c>admin</c> implies every scope.</summary>
    public static IReadOnlySet<string> ForRole(string role) => role switch
    {
        Roles.AdminRole => AdminScopes,
        Roles.Developer => DeveloperScopes,
        Roles.Viewer => ViewerScopes,
        _ => Empty,
    };

    public static bool IsRole(string role) => role is Roles.AdminRole or Roles.Developer or Roles.Viewer;

    public static bool IsKnown(string scope) => All.Contains(scope);

    private static readonly IReadOnlySet<string> AdminScopes = new HashSet<string>(All, StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> DeveloperScopes = new HashSet<string>([Execute, Route, ModelsRead, KeysRead, KeysWrite, UsageRead, Sessions], StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> ViewerScopes = new HashSet<string>([ModelsRead, KeysRead, UsageRead], StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> Empty = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>What an RPC needs: <c>null</c> = anonymous, <see cref="Authenticated"/> = any credential, else a scope.</summary>
    public static readonly IReadOnlyDictionary<string, string?> ByMethod = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["/grpc.health.v1.Health/Check"] = null,
        ["/grpc.health.v1.Health/Watch"] = null,
        ["/grpc.health.v1.Health/List"] = null,

        ["/monkeycoder.v1.AuthService/SignUp"] = null,
        ["/monkeycoder.v1.AuthService/Login"] = null,
        ["/monkeycoder.v1.AuthService/Refresh"] = null,
        // The refresh token in the request is the credential.
        ["/monkeycoder.v1.AuthService/Logout"] = null,
        ["/monkeycoder.v1.AuthService/StartDeviceAuthorization"] = null,
        ["/monkeycoder.v1.AuthService/PollDeviceAuthorization"] = null,
        ["/monkeycoder.v1.AuthService/ApproveDeviceAuthorization"] = Authenticated,
        ["/monkeycoder.v1.AuthService/WhoAmI"] = Authenticated,
        ["/monkeycoder.v1.AuthService/ListAuditEvents"] = Admin,
        ["/monkeycoder.v1.AuthService/EndUserSessions"] = Admin,

        ["/monkeycoder.v1.UserService/ListUsers"] = Admin,
        ["/monkeycoder.v1.UserService/UpdateUser"] = Admin,

        ["/monkeycoder.v1.ApiKeyService/CreateApiKey"] = KeysWrite,
        ["/monkeycoder.v1.ApiKeyService/ListApiKeys"] = KeysRead,
        ["/monkeycoder.v1.ApiKeyService/RevokeApiKey"] = KeysWrite,

        ["/monkeycoder.v1.RouterService/Execute"] = Execute,
        ["/monkeycoder.v1.RouterService/StreamExecute"] = Execute,
        ["/monkeycoder.v1.RouterService/Route"] = Route,
        ["/monkeycoder.v1.RouterService/Feedback"] = Execute,

        ["/monkeycoder.v1.ModelService/ListProviders"] = ModelsRead,
        ["/monkeycoder.v1.ModelService/ListModels"] = ModelsRead,

        // Every service in the contract is listed (a unit test checks it): usage readers see their own, admins anyone's.
        ["/monkeycoder.v1.UsageService/GetUsage"] = UsageRead,
        ["/monkeycoder.v1.UsageService/ListExecutions"] = UsageRead,
        ["/monkeycoder.v1.SessionService/ListSessions"] = Sessions,
        ["/monkeycoder.v1.SessionService/GetSession"] = Sessions,
        ["/monkeycoder.v1.SessionService/ExportSession"] = Sessions,
        ["/monkeycoder.v1.SessionService/DeleteSession"] = Sessions,

        // The HTTP edges' own operations (Calls/CallOperations), checked by the same authentication step.
        [Calls.CallOperations.ChatCompletions] = Execute,
        [Calls.CallOperations.ListModels] = ModelsRead,
        [Calls.CallOperations.AnthropicMessages] = Execute,
        [Calls.CallOperations.AnthropicCountTokens] = Execute,
        [Calls.CallOperations.AnthropicListModels] = ModelsRead,
        [Calls.CallOperations.Responses] = Execute,
        [Calls.CallOperations.Embeddings] = Execute,
    };

    /// <summary>The requirement for <paramref name="method"/>; unknown methods need admin.</summary>
    public static string? Required(string method) => ByMethod.TryGetValue(method, out var scope) ? scope : Admin;

    public static bool IsAnonymous(string method) => ByMethod.TryGetValue(method, out var scope) && scope is null;
}
