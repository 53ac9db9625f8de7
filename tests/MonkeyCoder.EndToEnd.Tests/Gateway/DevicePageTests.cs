using System.Net;
using System.Text;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// The device-approval page on the REST host, and the exact calls its script makes (sign in, then
/// approve with the access token), driven over HTTP the way the page's fetch() does.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class DevicePageTests(GatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Page_ServedAnonymously_WithItsOwnStrictPolicy_AndItsAssets()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Host.Address };
        using var page = await anonymous.GetAsync("/device?user_code=ABCD-EFGH");
        using var script = await anonymous.GetAsync("/device/app.js");
        using var css = await anonymous.GetAsync("/device/app.css");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("no-store", page.Headers.CacheControl!.ToString());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/device/app.js\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/v1/auth/device:approve", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
    }

    [Fact]
    public async Task TheScriptsCalls_SignInThenApprove_LetTheDeviceFinish()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Host.Address };
        var email = $"device-{Guid.NewGuid():N}@example.com";
        using (var signUp = await anonymous.PostAsync("/v1/auth/signup", Json($$"""{"email":"{{email}}","password":"correct horse battery staple 42"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, signUp.StatusCode);
        }

        using var start = JsonDocument.Parse(await (await anonymous.PostAsync("/v1/auth/device", Json("""{"clientName":"page test"}"""))).Content.ReadAsStringAsync());
        var userCode = start.RootElement.GetProperty("userCode").GetString()!;
        var deviceCode = start.RootElement.GetProperty("deviceCode").GetString()!;
        Assert.StartsWith("http", start.RootElement.GetProperty("verificationUriComplete").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/device?user_code=" + Uri.EscapeDataString(userCode), start.RootElement.GetProperty("verificationUriComplete").GetString(), StringComparison.Ordinal);

        // What app.js does: login → tokens.accessToken → device:approve {userCode, deny} with the bearer token.
        using var login = JsonDocument.Parse(await (await anonymous.PostAsync("/v1/auth/login", Json($$"""{"email":"{{email}}","password":"correct horse battery staple 42"}"""))).Content.ReadAsStringAsync());
        var token = login.RootElement.GetProperty("tokens").GetProperty("accessToken").GetString()!;
        using var approve = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/device:approve") { Content = Json($$"""{"userCode":"{{userCode}}","deny":false}""") };
        approve.Headers.Authorization = new("Bearer", token);
        using var approved = await anonymous.SendAsync(approve);
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        using var state = JsonDocument.Parse(await approved.Content.ReadAsStringAsync());
        Assert.Equal("DEVICE_AUTHORIZATION_STATE_APPROVED", state.RootElement.GetProperty("state").GetString());

        // A wrong password gets the message the page shows.
        using var wrong = await anonymous.PostAsync("/v1/auth/login", Json($$"""{"email":"{{email}}","password":"wrong password 0000000"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var wrongBody = JsonDocument.Parse(await wrong.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(wrongBody.RootElement.GetProperty("message").GetString()));

        using var poll = JsonDocument.Parse(await (await anonymous.PostAsync("/v1/auth/device:poll", Json($$"""{"deviceCode":"{{deviceCode}}"}"""))).Content.ReadAsStringAsync());
        Assert.Equal("DEVICE_AUTHORIZATION_STATE_APPROVED", poll.RootElement.GetProperty("state").GetString());
        Assert.Equal(email, poll.RootElement.GetProperty("principal").GetProperty("email").GetString());
    }
}
