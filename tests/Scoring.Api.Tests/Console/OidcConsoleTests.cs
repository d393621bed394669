using System.Text.RegularExpressions;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Scoring.Api.Features.Appeals;
using Scoring.Api.Features.Violations;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// The console under <c>Auth:Mode=Jwt</c>: reviewers sign in at a real OpenID Connect provider (authorization
/// code with PKCE), the session is a cookie, the reviewer is the ID token's <c>sub</c> and only reviewers and
/// administrators may enter.
/// </summary>
public sealed class OidcConsoleTests(OidcConsoleBackend backend) : IClassFixture<OidcConsoleBackend>, IAsyncLifetime
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly BrowserPages _pages = new(backend.Browser);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _pages.DisposeAsync();

    [Fact]
    public async Task A_reviewer_signs_in_at_the_provider_and_the_session_is_an_HttpOnly_SameSite_cookie()
    {
        backend.Provider.NextUser = ("rev-oidc", ["scoring.reviewer"]);
        var (context, page) = await NewPageAsync();
        var visited = new List<string>();
        page.Request += (_, request) => visited.Add(request.Url);

        await page.GotoAsync(backend.BaseUrl + "/console");

        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-oidc");
        Assert.Contains(visited, url => url.StartsWith(backend.Provider.Issuer + "connect/authorize?", StringComparison.Ordinal)
            && url.Contains("code_challenge_method=S256", StringComparison.Ordinal) && url.Contains("&scope=openid%20roles&", StringComparison.Ordinal) && url.Contains("response_type=code", StringComparison.Ordinal));
        var session = Assert.Single(await context.CookiesAsync(), c => c.Name == "scoring-console");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);
        Assert.Equal("/console", session.Path);
        await ScreenshotAsync(page, "oidc-signed-in");
    }

    [Fact]
    public async Task A_decision_from_the_console_is_made_as_the_signed_in_reviewer()
    {
        var appealId = await OpenAppealAsync();
        backend.Provider.NextUser = ("rev-oidc-decides", ["scoring.reviewer"]);
        var (_, page) = await NewPageAsync();
        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appealId}");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-oidc-decides");

        await page.GetByLabel("Overturn").CheckAsync();
        await page.GetByLabel("Rationale").FillAsync("The link was to the user's own shop.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true }).ClickAsync();

        await Expect(page.Locator(".notice")).ToContainTextAsync("overturned");
        var appeal = await SendAsync(new GetAppealQuery(appealId));
        Assert.Equal(("rev-oidc-decides", Domain.Appeals.AppealState.Overturned), (appeal.DecidedBy, appeal.State));
    }

    [Fact]
    public async Task Someone_without_a_reviewer_or_admin_role_is_told_which_role_is_missing()
    {
        backend.Provider.NextUser = ("dash-reader", ["scoring.reader"]);
        var (_, page) = await NewPageAsync();
        var denied = new List<int>();
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/console/denied", StringComparison.Ordinal))
            {
                denied.Add(response.Status);
            }
        };

        await page.GotoAsync(backend.BaseUrl + "/console");

        await Expect(page.Locator("#denied")).ToHaveTextAsync(
            "Missing role: the console is for reviewers, and your account (dash-reader) has neither scoring.reviewer nor scoring.admin.");
        Assert.Equal([403], denied);
        await ScreenshotAsync(page, "oidc-missing-role");
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        backend.Provider.NextUser = ("rev-leaves", ["scoring.admin"]);
        var (context, page) = await NewPageAsync();
        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-leaves");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Expect(page.Locator("h1")).ToHaveTextAsync("Signed out");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "scoring-console");
        var again = await context.APIRequest.GetAsync(backend.BaseUrl + "/console", new() { MaxRedirects = 0 });
        Assert.Equal(302, again.Status);
        Assert.StartsWith(backend.BaseUrl + "/console/sign-in?", again.Headers["location"], StringComparison.Ordinal);
        var signIn = await context.APIRequest.GetAsync(again.Headers["location"], new() { MaxRedirects = 0 });
        Assert.StartsWith(backend.Provider.Issuer + "connect/authorize?", signIn.Headers["location"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_posted_after_the_session_ended_goes_through_sign_in_instead_of_failing()
    {
        await OpenAppealAsync();
        backend.Provider.NextUser = ("rev-returns", ["scoring.reviewer"]);
        var (context, page) = await NewPageAsync();
        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-returns");
        var blocked = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                blocked.Add(message.Text);
            }
        };

        // The session ends (as at its maximum lifetime, or a restart with other keys) while the page is open.
        await context.ClearCookiesAsync(new() { Name = "scoring-console" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync();

        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-returns");
        Assert.Empty(blocked);
    }

    private async Task<string> OpenAppealAsync()
    {
        var user = Infrastructure.Requests.NewUserId();
        var recorded = await SendAsync(new RecordViolationCommand(
            "mod.queue", $"e-{Guid.NewGuid():N}", user, "spam", Domain.Severity.High, null, "cid:1", "Spam links", "mod-original", Automated: false));
        var appeal = await SendAsync(new SubmitAppealCommand(recorded.Violation.Id, user, "Not spam.", null));
        return appeal.Id;
    }

    /// <summary>Seeds and checks through the features in process: the gRPC port wants a provider's token.</summary>
    private async Task<T> SendAsync<T>(ICommand<T> command)
    {
        await using var scope = backend.App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ISender>().Send(command, Token);
    }

    private async Task<T> SendAsync<T>(IQuery<T> query)
    {
        await using var scope = backend.App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ISender>().Send(query, Token);
    }

    private Task<(IBrowserContext Context, IPage Page)> NewPageAsync() =>
        _pages.NewPageAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static Task ScreenshotAsync(IPage page, string name) => BrowserPages.ScreenshotAsync(page, name);
}
