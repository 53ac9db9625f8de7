using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>HTTPS straight from Kestrel with certificate files, configured as docs/rest.md says.</summary>
public sealed class HttpsTests
{
    [Fact]
    public async Task KestrelCertificateFiles_HttpsEndpointServesWithHsts_HttpEndpointWithout()
    {
        var dir = Directory.CreateTempSubdirectory("mc-tls-");
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(dir.FullName, "tls.crt");
            var keyPath = Path.Combine(dir.FullName, "tls.key");
            await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());

            var httpsPort = HostProcess.FreePort();
            await using var host = await HostProcess.StartGatewayAsync(new Dictionary<string, string>
            {
                ["Kestrel__Endpoints__Https__Url"] = $"https://127.0.0.1:{httpsPort}",
                ["Kestrel__Endpoints__Https__Certificate__Path"] = certPath,
                ["Kestrel__Endpoints__Https__Certificate__KeyPath"] = keyPath,
            });

            var thumbprint = certificate.Thumbprint;
            using var handler = new HttpClientHandler
            {
                // Trust exactly the certificate this test made, nothing else.
                ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint,
            };
            using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{httpsPort}"), Timeout = TimeSpan.FromSeconds(30) };
            https.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
            using var secure = await RetryAsync(() => https.GetAsync("/openai/v1/models"));
            Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
            Assert.Equal("max-age=31536000; includeSubDomains", BrowserSafetyTests.Single(secure, "Strict-Transport-Security"));
            BrowserSafetyTests.AssertSecurityHeaders(secure, docs: false);

            using var http = new HttpClient { BaseAddress = host.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
            using var plain = await http.GetAsync("/openai/v1/models");
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.False(plain.Headers.Contains("Strict-Transport-Security"));
            Assert.Empty(host.ErrorLines);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The HTTP port answering does not mean the HTTPS one is bound yet; retry briefly (bounded).</summary>
    private static async Task<HttpResponseMessage> RetryAsync(Func<Task<HttpResponseMessage>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (HttpRequestException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }
}
