using System.Net;
using System.Net.Http.Headers;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Reports;

/// <summary>The report routes over HTTP admit administrators and auditors only, and say why they refuse (gRPC: the authorization matrix).</summary>
public sealed class ReportAuthorizationTests(JwtBackend backend) : IClassFixture<JwtBackend>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("scoring.auditor", HttpStatusCode.OK)]
    [InlineData("scoring.admin", HttpStatusCode.OK)]
    [InlineData("scoring.reader", HttpStatusCode.Forbidden)]
    [InlineData("scoring.reviewer", HttpStatusCode.Forbidden)]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    public async Task Report_routes_admit_auditors_and_administrators(string? role, HttpStatusCode expected)
    {
        using var http = backend.App.CreateClient();
        if (role is not null)
        {
            var token = Tokens.Create("compliance-1", [role], "compliance.app", serviceNow: backend.App.Time.GetUtcNow());
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        foreach (var route in new[] { "/v1/reports/transparency", "/v1/reports/transparency.csv", "/v1/reports/statements-of-reasons" })
        {
            using var response = await http.GetAsync($"{route}?from=2026-11-01&to=2026-11-30", Token);
            var body = await response.Content.ReadAsStringAsync(Token);

            Assert.True(expected == response.StatusCode, $"{route} as {role ?? "nobody"}: {(int)response.StatusCode} {body}");
            if (expected == HttpStatusCode.Forbidden)
            {
                Assert.Contains("missing role", body, StringComparison.Ordinal);
            }
        }
    }
}
