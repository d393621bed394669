using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// The reviewer console end to end, in headless Chromium against the running service: sign-in, the queue and
/// its filters, Start reviewing, the appeal page and its decision form, races, hostile input, the keyboard and
/// a phone's screen. Every test saves a screenshot under the test output's screenshots/ folder.
/// </summary>
public sealed class ConsoleTests(ConsoleBackend backend) : IClassFixture<ConsoleBackend>, IAsyncLifetime
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly BrowserPages _pages = new(backend.Browser);

    /// <summary>Each test starts with an empty queue: every appeal an earlier test left open is withdrawn.</summary>
    public async ValueTask InitializeAsync()
    {
        while (true)
        {
            var open = await backend.Appeals.ListAppealsAsync(new ListAppealsRequest { PageSize = 100 }, cancellationToken: Token);
            if (open.Appeals.Count == 0)
            {
                return;
            }

            foreach (var appeal in open.Appeals)
            {
                await backend.Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = appeal.UserId }, cancellationToken: Token);
            }
        }
    }

    public ValueTask DisposeAsync() => _pages.DisposeAsync();

    [Fact]
    public async Task Development_sign_in_opens_the_queue_and_sign_out_ends_the_session()
    {
        var page = await NewPageAsync();

        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
        await page.GetByLabel("Reviewer id").FillAsync("rev-sign-in");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(page.Locator("h1")).ToHaveTextAsync("Appeals queue");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-sign-in");
        await ScreenshotAsync(page, "sign-in");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in\\?ReturnUrl="));
    }

    [Fact]
    public async Task The_queue_lists_open_appeals_oldest_first_with_counts_and_filters()
    {
        var first = await OpenAppealAsync(category: "fraud", severity: Severity.High);
        backend.App.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await OpenAppealAsync(category: "spam", severity: Severity.Low);
        await backend.Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = second.AppealId, ReviewerId = "rev-queue" }, cancellationToken: Token);
        var page = await SignInAsync("rev-queue");

        var rows = page.Locator("tr[data-appeal]");
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Equal([first.AppealId, second.AppealId], await AppealIdsAsync(page));
        await Expect(rows.Nth(0).Locator("td[data-label=Category]")).ToHaveTextAsync("fraud");
        await Expect(rows.Nth(0).Locator("td[data-label=Severity]")).ToHaveTextAsync("high");
        await Expect(rows.Nth(0).Locator("td[data-label=Standing]")).ToHaveTextAsync("restricted");
        await Expect(rows.Nth(0).Locator("td[data-label='Held by']")).ToHaveTextAsync("nobody");
        await Expect(rows.Nth(0).Locator("td[data-label=Due]")).ToHaveTextAsync("2d 23h left");
        await Expect(rows.Nth(1).Locator("td[data-label='Held by']")).ToHaveTextAsync("rev-queue");
        await Expect(page.Locator(".counts li[data-state=submitted] strong")).ToHaveTextAsync("1");
        await Expect(page.Locator(".counts li[data-state=in_review] strong")).ToHaveTextAsync("1");
        await ScreenshotAsync(page, "queue");

        await page.GetByLabel("Assigned to me").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        Assert.Equal([second.AppealId], await AppealIdsAsync(page));

        await page.GotoAsync(backend.BaseUrl + "/console?unassigned=true");
        Assert.Equal([first.AppealId], await AppealIdsAsync(page));

        await page.GotoAsync(backend.BaseUrl + "/console?category=spam");
        Assert.Equal([second.AppealId], await AppealIdsAsync(page));

        await page.GotoAsync(backend.BaseUrl + "/console?state=in_review");
        Assert.Equal([second.AppealId], await AppealIdsAsync(page));

        // Past the first appeal's due_at (72 h after it was submitted) but not the second's.
        backend.App.Time.Advance(TimeSpan.FromHours(72) - TimeSpan.FromSeconds(30));
        // The session (8 h without use) ended meanwhile.
        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
        page = await SignInAsync("rev-queue");
        await page.GotoAsync(backend.BaseUrl + "/console?overdue=true");
        Assert.Equal([first.AppealId], await AppealIdsAsync(page));
        await Expect(page.Locator($"tr[data-appeal='{first.AppealId}'] td.due")).ToHaveClassAsync(new Regex("overdue"));
        await Expect(page.Locator($"tr[data-appeal='{first.AppealId}'] td.due")).ToHaveTextAsync("overdue by 0m");
    }

    [Fact]
    public async Task The_queue_refreshes_itself_without_reloading_the_page()
    {
        var page = await SignInAsync("rev-refresh");
        await Expect(page.Locator("p.empty")).ToBeVisibleAsync();
        // A marker on the window survives only if the page is never reloaded.
        await page.EvaluateAsync("window.__sameDocument = true");

        var appeal = await OpenAppealAsync();

        await Expect(page.Locator($"tr[data-appeal='{appeal.AppealId}']")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"));
        await ScreenshotAsync(page, "queue-refreshed");
    }

    [Fact]
    public async Task Start_reviewing_in_two_browsers_at_once_claims_two_different_appeals()
    {
        var first = await OpenAppealAsync();
        var second = await OpenAppealAsync();
        var alice = await SignInAsync("rev-alice");
        var bob = await SignInAsync("rev-bob");

        await Task.WhenAll(
            alice.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync(),
            bob.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync());
        await Expect(alice).ToHaveURLAsync(new Regex("/console/appeals/"));
        await Expect(bob).ToHaveURLAsync(new Regex("/console/appeals/"));

        var opened = new[] { AppealIdOf(alice), AppealIdOf(bob) };
        Assert.Equal(new[] { first.AppealId, second.AppealId }.Order(), opened.Order());
        Assert.Equal("rev-alice", (await GetAppealAsync(AppealIdOf(alice))).Assignee);
        Assert.Equal("rev-bob", (await GetAppealAsync(AppealIdOf(bob))).Assignee);
        await ScreenshotAsync(alice, "start-reviewing-alice");
        await ScreenshotAsync(bob, "start-reviewing-bob");
    }

    [Fact]
    public async Task Decide_and_next_decides_with_a_template_and_opens_the_next_oldest_appeal()
    {
        var first = await OpenAppealAsync(statement: "It was a joke between friends.");
        backend.App.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await OpenAppealAsync();
        var page = await SignInAsync("rev-next");

        await page.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{first.AppealId}$"));
        await Expect(page.Locator("#statement")).ToHaveTextAsync("It was a joke between friends.");
        await Expect(page.Locator("#chain")).ToContainTextAsync("verifies");
        Assert.True(await page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= 1280, "the appeal page is wider than 1280 px");
        await page.GetByLabel("Uphold").CheckAsync();
        await page.GetByLabel("Template").SelectOptionAsync(new SelectOptionValue { Label = ConsoleBackend.Template });
        await Expect(page.GetByLabel("Rationale")).ToHaveValueAsync(ConsoleBackend.Template);
        await ScreenshotAsync(page, "appeal");
        await page.GetByRole(AriaRole.Button, new() { Name = "Decide & next" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{second.AppealId}$"));
        await Expect(page.Locator(".notice")).ToContainTextAsync($"Appeal {first.AppealId} upheld");
        var decided = await GetAppealAsync(first.AppealId);
        Assert.Equal(AppealState.Upheld, decided.State);
        Assert.Equal("rev-next", decided.DecidedBy);
        Assert.Equal(ConsoleBackend.Template, decided.Rationale);
        Assert.Equal("rev-next", (await GetAppealAsync(second.AppealId)).Assignee);
        await ScreenshotAsync(page, "decide-and-next");
    }

    [Fact]
    public async Task Reduce_shows_what_it_does_to_the_standing_before_it_is_sent()
    {
        // HIGH spam: 40 points, RESTRICTED. Reduced to LOW it is 5 points: GOOD.
        var appeal = await OpenAppealAsync(category: "spam", severity: Severity.High);
        var page = await SignInAsync("rev-reduce");
        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");

        await page.GetByLabel("Reduce").CheckAsync();
        await page.Locator("#new-severity").SelectOptionAsync("Low");
        var preview = page.Locator("[data-preview='reduce-low']");
        await Expect(preview).ToBeVisibleAsync();
        await Expect(preview).ToContainTextAsync("40 → 5 points; standing improves to good (from restricted)");
        await Expect(page.Locator("[data-preview='overturn']")).ToBeHiddenAsync();
        await page.Locator("#new-severity").SelectOptionAsync("Medium");
        await Expect(page.Locator("[data-preview='reduce-medium']")).ToContainTextAsync("40 → 15 points; standing improves to warned (from restricted)");
        await ScreenshotAsync(page, "reduce-preview");
        await page.Locator("#new-severity").SelectOptionAsync("Low");
        await page.GetByLabel("Rationale").FillAsync("A first offence; low severity fits.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true }).ClickAsync();

        await Expect(page.Locator(".notice")).ToContainTextAsync("reduced; the user is now good (5 points)");
        var score = await backend.Scoring.GetScoreAsync(new GetScoreRequest { UserId = appeal.UserId }, cancellationToken: Token);
        Assert.Equal(5, score.Points, 6);
        Assert.Equal(Standing.Good, score.Standing);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true })).ToBeDisabledAsync();
    }

    [Fact]
    public async Task The_reviewer_who_made_the_contested_call_sees_the_form_disabled_and_is_never_handed_it()
    {
        var appeal = await OpenAppealAsync(decidedBy: "rev-decider");
        var page = await SignInAsync("rev-decider");

        await page.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync();
        await Expect(page.Locator(".notice")).ToHaveTextAsync("No unassigned appeal is waiting for you.");
        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");

        await Expect(page.Locator("#blocked")).ToHaveTextAsync("You made the contested call, so another reviewer must decide this appeal.");
        await Expect(page.GetByLabel("Uphold")).ToBeDisabledAsync();
        await Expect(page.GetByLabel("Rationale")).ToBeDisabledAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Decide & next" })).ToBeDisabledAsync();
        Assert.Equal(AppealState.Submitted, (await GetAppealAsync(appeal.AppealId)).State);
        await ScreenshotAsync(page, "decider-disabled");
    }

    [Fact]
    public async Task A_decision_that_loses_a_race_says_what_happened_offers_the_next_case_and_decides_nothing_twice()
    {
        var appeal = await OpenAppealAsync();
        var waiting = await OpenAppealAsync();
        var page = await SignInAsync("rev-slow");
        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");
        await page.GetByLabel("Overturn").CheckAsync();
        await page.GetByLabel("Rationale").FillAsync("Not our call to make.");

        // Another reviewer decides first, through the API.
        await backend.Appeals.DecideAppealAsync(new DecideAppealRequest
        {
            AppealId = appeal.AppealId, ReviewerId = "rev-fast", Decision = AppealDecision.Uphold, Rationale = "Clear evidence.",
        }, cancellationToken: Token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true }).ClickAsync();

        await Expect(page.Locator(".outcome")).ToContainTextAsync("already decided");
        await Expect(page.Locator("#blocked")).ToContainTextAsync("decided (upheld) by rev-fast");
        var decided = await GetAppealAsync(appeal.AppealId);
        Assert.Equal((AppealState.Upheld, "rev-fast", "Clear evidence."), (decided.State, decided.DecidedBy, decided.Rationale));
        var entries = await new V1.Audit.AuditClient(backend.Channel).ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = appeal.AppealId }, cancellationToken: Token);
        Assert.Single(entries.Entries, e => e.Action == "appeal.decided");
        await ScreenshotAsync(page, "lost-race");

        await page.GetByRole(AriaRole.Button, new() { Name = "Take the next case" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{waiting.AppealId}$"));
    }

    [Fact]
    public async Task A_hostile_statement_and_evidence_reference_are_shown_as_text_and_never_run()
    {
        const string statement = "<script>window.__pwned = 1; alert(1)</script><img src=x onerror=\"alert(2)\">";
        var appeal = await OpenAppealAsync(statement: statement, evidence: "javascript:alert(3)");
        var page = await SignInAsync("rev-xss");
        var dialogs = 0;
        page.Dialog += (_, dialog) =>
        {
            Interlocked.Increment(ref dialogs);
            _ = dialog.DismissAsync();
        };

        var response = await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");

        await Expect(page.Locator("#statement")).ToHaveTextAsync(statement);
        await Expect(page.Locator("#statement img, #statement script")).ToHaveCountAsync(0);
        await Expect(page.Locator("#evidence")).ToHaveTextAsync("javascript:alert(3)");
        await Expect(page.Locator("#evidence a")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<int?>("window.__pwned"));
        Assert.Equal(0, dialogs);
        Assert.DoesNotContain("unsafe-inline", (await response!.AllHeadersAsync())["content-security-policy"]);
        await ScreenshotAsync(page, "hostile-statement");
    }

    [Fact]
    public async Task A_reviewer_goes_from_an_empty_browser_to_three_decided_appeals_with_the_keyboard_alone()
    {
        var appeals = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            appeals.Add((await OpenAppealAsync()).AppealId);
            backend.App.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var page = await NewPageAsync();
        await page.GotoAsync(backend.BaseUrl + "/console");
        // The sign-in field has the focus: type the id and press Enter.
        await Expect(page.GetByLabel("Reviewer id")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("rev-keys");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-keys");
        await page.WaitForSelectorAsync("html[data-console-ready]", new() { State = WaitForSelectorState.Attached });

        await page.Keyboard.PressAsync("?");
        await Expect(page.Locator("#keys")).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.Locator("#keys")).ToBeHiddenAsync();

        await page.Keyboard.PressAsync("n");
        foreach (var (appealId, index) in appeals.Select((id, index) => (id, index)))
        {
            await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{appealId}$"));
            await page.WaitForSelectorAsync("html[data-console-ready]", new() { State = WaitForSelectorState.Attached });
            await page.Keyboard.PressAsync("u");
            await Expect(page.Locator("[data-preview='uphold']")).ToBeVisibleAsync();
            await Expect(page.GetByLabel("Rationale")).ToBeFocusedAsync();
            await page.Keyboard.TypeAsync($"Upheld by keyboard, case {index + 1}.");
            await page.Keyboard.PressAsync("Control+Enter");
        }

        await Expect(page).ToHaveURLAsync(new Regex("/console$"));
        await Expect(page.Locator(".notice")).ToContainTextAsync("No unassigned appeal is waiting for you.");
        foreach (var appealId in appeals)
        {
            var decided = await GetAppealAsync(appealId);
            Assert.Equal((AppealState.Upheld, "rev-keys"), (decided.State, decided.DecidedBy));
        }

        await ScreenshotAsync(page, "keyboard-three-decided");
    }

    [Fact]
    public async Task In_the_queue_j_and_k_move_and_Enter_opens_the_selected_appeal()
    {
        var first = await OpenAppealAsync();
        backend.App.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await OpenAppealAsync();
        var page = await SignInAsync("rev-jk");
        await Expect(page.Locator("tr[data-appeal]")).ToHaveCountAsync(2);

        await page.Keyboard.PressAsync("j");
        await Expect(page.Locator($"tr[data-appeal='{first.AppealId}']")).ToHaveClassAsync(new Regex("selected"));
        await page.Keyboard.PressAsync("j");
        await page.Keyboard.PressAsync("j");
        await page.Keyboard.PressAsync("k");
        await page.Keyboard.PressAsync("j");
        await Expect(page.Locator($"tr[data-appeal='{second.AppealId}']")).ToHaveClassAsync(new Regex("selected"));
        await page.Keyboard.PressAsync("Enter");

        await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{second.AppealId}$"));
    }

    [Fact]
    public async Task On_a_phone_screen_the_queue_and_the_appeal_fit_the_width_and_every_control_is_reachable()
    {
        var appeal = await OpenAppealAsync(statement: "A long statement without spaces: " + new string('x', 120));
        var page = await SignInAsync("rev-phone", new ViewportSize { Width = 390, Height = 844 });

        await Expect(page.Locator($"tr[data-appeal='{appeal.AppealId}']")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= 390);
        await ScreenshotAsync(page, "phone-queue");

        await page.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/console/appeals/{appeal.AppealId}$"));
        Assert.Equal("", await page.EvaluateAsync<string>("[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).join(' ')"));
        Assert.True(await page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= 390);
        foreach (var control in new[] { page.GetByLabel("Uphold"), page.GetByLabel("Overturn"), page.GetByLabel("Reduce"), page.GetByLabel("Rationale"), page.GetByRole(AriaRole.Button, new() { Name = "Decide & next" }) })
        {
            await control.ScrollIntoViewIfNeededAsync();
            await Expect(control).ToBeInViewportAsync();
        }

        await ScreenshotAsync(page, "phone-appeal");
    }

    [Fact]
    public async Task User_lookup_shows_the_score_history_and_the_verified_audit_chain()
    {
        var appeal = await OpenAppealAsync(category: "fraud");
        var old = Requests.Violation(appeal.UserId, "spam", Severity.Low, occurredAt: backend.App.Time.GetUtcNow() - TimeSpan.FromDays(360));
        var expired = (await backend.Scoring.RecordViolationAsync(old, cancellationToken: Token)).Violation.ViolationId;
        // Past the old one's max_age (365 days), well within the fraud one's.
        backend.App.Time.Advance(TimeSpan.FromDays(10));
        var page = await SignInAsync("rev-lookup");

        await page.GetByLabel("User id").First.FillAsync(appeal.UserId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).First.ClickAsync();

        await Expect(page.Locator("h2 .id")).ToHaveTextAsync(appeal.UserId);
        // Posted: the user id is not in the address (history, proxies' logs).
        Assert.DoesNotContain(appeal.UserId, page.Url, StringComparison.Ordinal);
        await Expect(page.Locator("#score [data-standing]")).ToHaveTextAsync("restricted");
        await Expect(page.Locator("table.breakdown tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("table.appeals")).ToContainTextAsync(appeal.AppealId);
        await Expect(page.Locator("#chain")).ToHaveTextAsync(new Regex("audit chain verifies \\(3 entries checked\\)"));
        await Expect(page.Locator("table.audit tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("table.violations tr", new() { HasText = expired }).Locator("td[data-label=Status]")).ToHaveTextAsync("expired");
        await Expect(page.Locator("#unknown-user")).ToHaveCountAsync(0);

        await page.GetByLabel("User id").First.FillAsync("u-never-seen");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).First.ClickAsync();
        await Expect(page.Locator("#unknown-user")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "user-lookup");
    }

    [Fact]
    public async Task Every_page_passes_an_accessibility_scan()
    {
        var appeal = await OpenAppealAsync();
        var signIn = await NewPageAsync();
        await signIn.GotoAsync(backend.BaseUrl + "/console/sign-in");
        var page = await SignInAsync("rev-a11y");
        await Expect(page.Locator("tr[data-appeal]")).ToHaveCountAsync(1);

        var scans = new List<(string Page, Deque.AxeCore.Commons.AxeResult Result)> { ("sign-in", await signIn.RunAxe()), ("queue", await page.RunAxe()) };
        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");
        scans.Add(("appeal", await page.RunAxe()));
        await page.GotoAsync($"{backend.BaseUrl}/console/users/{appeal.UserId}");
        scans.Add(("user", await page.RunAxe()));

        var violations = scans.SelectMany(s => s.Result.Violations.Select(v => $"{s.Page}: {v.Id} ({v.Help}) at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}"));
        Assert.Empty(violations);
        Assert.All(scans, s => Assert.NotEmpty(s.Result.Passes));
    }

    [Fact]
    public async Task Times_are_shown_in_the_reviewers_time_zone_with_UTC_on_hover()
    {
        var appeal = await OpenAppealAsync();
        var submitted = (await GetAppealAsync(appeal.AppealId)).SubmittedAt.ToDateTimeOffset();
        var page = await SignInAsync("rev-zone");

        var time = page.Locator($"tr[data-appeal='{appeal.AppealId}'] time");
        var berlin = TimeZoneInfo.ConvertTime(submitted, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        await Expect(time).ToHaveTextAsync(berlin.ToString("d MMM yyyy, HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(time).ToHaveAttributeAsync("title", submitted.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_appeal_page_loads_its_data_in_one_round_trip()
    {
        var appeal = await OpenAppealAsync();
        var page = await SignInAsync("rev-trips");
        var requests = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);

        await page.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        Assert.Equal([$"{backend.BaseUrl}/console/appeals/{appeal.AppealId}"], requests.Where(url => !url.Contains("/console/assets/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_decision_after_the_appeal_was_reassigned_says_so_and_decides_nothing()
    {
        var appeal = await OpenAppealAsync();
        var first = await SignInAsync("rev-first");
        await first.GetByRole(AriaRole.Button, new() { Name = "Start reviewing" }).ClickAsync();
        await Expect(first).ToHaveURLAsync(new Regex($"/console/appeals/{appeal.AppealId}$"));
        await first.GetByLabel("Uphold").CheckAsync();
        await first.GetByLabel("Rationale").FillAsync("Stands.");

        var second = await SignInAsync("rev-second");
        await second.GotoAsync($"{backend.BaseUrl}/console/appeals/{appeal.AppealId}");
        await Expect(second.Locator("#blocked")).ToHaveTextAsync("rev-first holds this appeal; take it over to decide it.");
        await second.GetByRole(AriaRole.Button, new() { Name = "Take over this appeal" }).ClickAsync();
        await Expect(second.Locator(".notice")).ToHaveTextAsync("You now hold this appeal.");
        await first.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true }).ClickAsync();

        await Expect(first.Locator(".outcome")).ToContainTextAsync("assigned to another reviewer");
        var current = await GetAppealAsync(appeal.AppealId);
        Assert.Equal((AppealState.InReview, "rev-second"), (current.State, current.Assignee));
    }

    [Fact]
    public async Task The_console_is_served_only_on_the_HTTP_port_and_refuses_a_form_post_without_its_antiforgery_token()
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var forged = new FormUrlEncodedContent(new Dictionary<string, string> { ["ReviewerId"] = "rev-forged" });
        using var posted = await http.PostAsync(backend.BaseUrl + "/console/sign-in", forged, Token);
        using var signInPage = await http.GetAsync(backend.BaseUrl + "/console/sign-in", Token);
        using var grpcPort = new HttpRequestMessage(HttpMethod.Get, backend.Channel.Target.StartsWith("http", StringComparison.Ordinal) ? backend.Channel.Target + "/console/sign-in" : $"http://{backend.Channel.Target}/console/sign-in")
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var onGrpcPort = await http.SendAsync(grpcPort, Token);
        // Through an Ingress the Host names the site, without the port.
        using var proxied = new HttpRequestMessage(HttpMethod.Get, backend.BaseUrl + "/console") { Headers = { Host = "console.example.org" } };
        using var throughIngress = await http.SendAsync(proxied, Token);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, posted.StatusCode);
        // Pages hold personal data: the browser keeps none of them for the back button.
        Assert.True(signInPage.Headers.CacheControl?.NoStore);
        Assert.DoesNotContain(posted.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("scoring-console=", StringComparison.Ordinal)));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, onGrpcPort.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, throughIngress.StatusCode);
        Assert.Contains("/console/sign-in", throughIngress.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_started_on_one_replica_is_valid_on_another()
    {
        var appeal = await OpenAppealAsync();
        var (replica, replicaUrl) = backend.StartReplica();
        await using var _ = replica;
        var page = await SignInAsync("rev-replicas");

        // Cookies belong to the host, not the port: the same browser session on the second replica.
        await page.GotoAsync($"{replicaUrl}/console/appeals/{appeal.AppealId}");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-replicas");
        await page.GetByLabel("Uphold").CheckAsync();
        await page.GetByLabel("Rationale").FillAsync("Decided on the other replica.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Decide", Exact = true }).ClickAsync();

        await Expect(page.Locator(".notice")).ToContainTextAsync("upheld");
        Assert.Equal("rev-replicas", (await GetAppealAsync(appeal.AppealId)).DecidedBy);
    }

    [Fact]
    public async Task A_session_ends_at_its_maximum_lifetime_however_busy_the_reviewer_is()
    {
        var page = await SignInAsync("rev-long-day");

        backend.App.Time.Advance(TimeSpan.FromHours(7));
        await page.GotoAsync(backend.BaseUrl + "/console");
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync("rev-long-day");
        backend.App.Time.Advance(TimeSpan.FromHours(6));
        await page.GotoAsync(backend.BaseUrl + "/console");

        // 6 h since the last page (under the 8 h idle limit), 13 h since sign-in (over the 12 h cap).
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
    }

    [Fact]
    public async Task A_queue_refresh_without_a_session_asks_the_page_to_reload_and_errors_get_pages_with_their_status()
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var refresh = new HttpRequestMessage(HttpMethod.Get, backend.BaseUrl + "/console?handler=Rows") { Headers = { { "HX-Request", "true" } } };
        using var refreshed = await http.SendAsync(refresh, Token);
        var page = await SignInAsync("rev-errors");

        var missing = await page.GotoAsync(backend.BaseUrl + "/console/appeals/no-such-appeal");
        await Expect(page.Locator("#error")).ToHaveTextAsync("appeal 'no-such-appeal' was not found");
        var malformed = await page.GotoAsync(backend.BaseUrl + "/console?category=not%20a%20category");

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refreshed.StatusCode);
        Assert.Equal("true", refreshed.Headers.GetValues("HX-Refresh").Single());
        Assert.Equal(404, missing!.Status);
        Assert.Equal(400, malformed!.Status);
        await Expect(page.Locator("#error")).ToContainTextAsync("category");
    }

    private async Task<IPage> NewPageAsync(ViewportSize? viewport = null) =>
        (await _pages.NewPageAsync(new BrowserNewContextOptions
        {
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 800 },
            TimezoneId = "Europe/Berlin",
            Locale = "en-GB",
        })).Page;

    private async Task<IPage> SignInAsync(string reviewer, ViewportSize? viewport = null)
    {
        var page = await NewPageAsync(viewport);
        await page.GotoAsync(backend.BaseUrl + "/console/sign-in");
        await page.GetByLabel("Reviewer id").FillAsync(reviewer);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#reviewer")).ToHaveTextAsync(reviewer);
        await page.WaitForSelectorAsync("html[data-console-ready]", new() { State = WaitForSelectorState.Attached });
        return page;
    }

    private async Task<(string UserId, string ViolationId, string AppealId)> OpenAppealAsync(
        string category = "spam", Severity severity = Severity.High, string statement = "I did not post that link.",
        string decidedBy = "mod-original", string? evidence = null)
    {
        var user = Requests.NewUserId();
        var request = Requests.Violation(user, category, severity);
        request.DecidedBy = decidedBy;
        request.Automated = false;
        if (evidence is not null)
        {
            request.EvidenceRef = evidence;
        }

        var recorded = await backend.Scoring.RecordViolationAsync(request, cancellationToken: Token);
        var appeal = await backend.Appeals.SubmitAppealAsync(
            new SubmitAppealRequest { ViolationId = recorded.Violation.ViolationId, UserId = user, Statement = statement }, cancellationToken: Token);
        return (user, recorded.Violation.ViolationId, appeal.AppealId);
    }

    private Task<Appeal> GetAppealAsync(string appealId) =>
        backend.Appeals.GetAppealAsync(new GetAppealRequest { AppealId = appealId }, cancellationToken: Token).ResponseAsync;

    private static string AppealIdOf(IPage page) => page.Url[(page.Url.LastIndexOf('/') + 1)..];

    private static async Task<string[]> AppealIdsAsync(IPage page)
    {
        await page.WaitForSelectorAsync("#queue table, #queue p.empty");
        return [.. (await page.Locator("tr[data-appeal]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.appeal)"))];
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);

    private static Task ScreenshotAsync(IPage page, string name) => BrowserPages.ScreenshotAsync(page, name);
}
