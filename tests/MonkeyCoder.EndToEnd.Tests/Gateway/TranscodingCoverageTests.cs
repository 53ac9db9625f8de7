using System.Net;
using System.Text;
using System.Text.Json;
using Google.Api;
using Google.Protobuf.Reflection;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// Every RPC of every service, read from the contract's own <c>google.api.http</c> rules rather than
/// a hand-kept list: each is in the OpenAPI document under its verb, and the REST host routes it
/// (an anonymous call reaches the service and gets a google.rpc.Status answer, never a routing 404/405).
/// </summary>
[Collection(EdgeGatewayCollection.Name)]
public sealed class TranscodingCoverageTests(EdgeGatewayFixture fixture)
{
    private static readonly FileDescriptor[] Contract =
    [
        RouterServiceReflection.Descriptor, ModelServiceReflection.Descriptor, AuthServiceReflection.Descriptor,
        ApiKeyServiceReflection.Descriptor, UsageServiceReflection.Descriptor, SessionServiceReflection.Descriptor,
        UserServiceReflection.Descriptor,
    ];

    public static TheoryData<string, string, string> Rules
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var method in Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods))
            {
                var rule = method.GetOptions()?.GetExtension(AnnotationsExtensions.Http)
                    ?? throw new InvalidOperationException($"{method.FullName} has no google.api.http rule.");
                var (verb, path) = rule.PatternCase switch
                {
                    HttpRule.PatternOneofCase.Get => ("get", rule.Get),
                    HttpRule.PatternOneofCase.Post => ("post", rule.Post),
                    HttpRule.PatternOneofCase.Delete => ("delete", rule.Delete),
                    HttpRule.PatternOneofCase.Patch => ("patch", rule.Patch),
                    HttpRule.PatternOneofCase.Put => ("put", rule.Put),
                    _ => throw new InvalidOperationException($"{method.FullName} has a custom HTTP pattern."),
                };
                data.Add(method.FullName, verb, path);
            }

            return data;
        }
    }

    [Fact]
    public void Contract_EveryServiceMethod_HasAnHttpRule() =>
        Assert.Equal(Contract.SelectMany(f => f.Services).Sum(s => s.Methods.Count), Rules.Count());

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task OpenApiDocument_EveryRpc_DescribedUnderItsVerb(string rpc, string verb, string path)
    {
        using var response = await fixture.Http.GetAsync("/swagger/v1/swagger.json");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = doc.RootElement.GetProperty("paths");
        var documented = paths.EnumerateObject().FirstOrDefault(p => Normalize(p.Name) == Normalize(path));

        Assert.True(documented.Value.ValueKind == JsonValueKind.Object, $"{rpc}: {path} is not in the OpenAPI document");
        Assert.True(documented.Value.TryGetProperty(verb, out _), $"{rpc}: {path} is documented without '{verb}'");
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task RestHost_EveryRpc_RoutedToTheService(string rpc, string verb, string path)
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Host.Address, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(new HttpMethod(verb.ToUpperInvariant()), path.Replace("{session_id}", "sess_unknown", StringComparison.Ordinal).Replace("{key_id}", "key_unknown", StringComparison.Ordinal));
        if (verb is "post" or "patch" or "put")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await anonymous.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.NotEqual(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.True(response.StatusCode != HttpStatusCode.NotFound || body.Contains("\"code\"", StringComparison.Ordinal), $"{rpc}: {verb.ToUpperInvariant()} {path} is not routed");
        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        if (!response.IsSuccessStatusCode)
        {
            // A google.rpc.Status from the service, not an HTML or empty framework page.
            using var status = JsonDocument.Parse(body);
            Assert.True(status.RootElement.TryGetProperty("code", out _), $"{rpc}: {body}");
        }
    }

    /// <summary>Path templates compared without parameter spelling ({session_id} vs {sessionId}).</summary>
    private static string Normalize(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template, "{[^}]*}", "{}");
}
