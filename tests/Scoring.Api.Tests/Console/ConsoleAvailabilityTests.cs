using System.Net;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// Where the console is off: the password-less sign-in exists only in Development, and under JWT the
/// console needs an OpenID Connect client. The service runs as its own process in Production.
/// </summary>
public sealed class ConsoleAvailabilityTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_authentication_outside_Development_there_is_no_console_to_sign_in_to()
    {
        await AssertConsoleOffAsync(new Dictionary<string, string>
        {
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
        });
    }

    [Fact]
    public async Task Under_JWT_without_a_console_client_there_is_no_console()
    {
        await AssertConsoleOffAsync(new Dictionary<string, string>
        {
            ["Auth__Mode"] = "Jwt",
            ["Auth__SigningKey"] = Tokens.SigningKey,
            ["Auth__Issuer"] = Tokens.Issuer,
            ["Auth__Audience"] = Tokens.Audience,
        });
    }

    private static async Task AssertConsoleOffAsync(Dictionary<string, string> settings)
    {
        var directory = Directory.CreateTempSubdirectory("scoring-console-off-").FullName;
        settings["Database__Provider"] = "Sqlite";
        settings["ConnectionStrings__Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}";
        using var server = await ServerProcess.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = server.HttpAddress };
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["ReviewerId"] = "intruder" });

        using var page = await http.GetAsync("/console/sign-in", Token);
        using var signIn = await http.PostAsync("/console/sign-in", form, Token);
        using var queue = await http.GetAsync("/console", Token);
        // The HTTP/JSON API on the same port is unaffected.
        using var policy = await http.GetAsync("/v1/policies", Token);

        // Not served: 404, or 401 where the fallback policy refuses what nothing maps. Never a sign-in.
        Assert.All(new[] { page, signIn, queue }, response =>
        {
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized, $"{response.RequestMessage!.RequestUri} answered {response.StatusCode}");
            Assert.False(response.Headers.Contains("Set-Cookie"));
        });
        Assert.True(policy.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"/v1/policies answered {policy.StatusCode}");
    }
}
