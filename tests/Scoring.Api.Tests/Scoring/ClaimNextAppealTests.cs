using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Scoring.Api.Features.Appeals;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>"Start reviewing" (the console's claim of the next appeal), on every storage configuration.</summary>
public abstract class ClaimNextAppealTests(Backend backend)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reviewers_claiming_at_the_same_moment_each_get_a_different_appeal()
    {
        const int reviewers = 8;
        for (var i = 0; i < reviewers; i++)
        {
            await OpenAppealAsync("mod-7");
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, reviewers).Select(i => ClaimAsync($"rev-{i}")));

        Assert.All(claims, Assert.NotNull);
        Assert.Equal(reviewers, claims.Select(c => c!.Id).Distinct().Count());
        foreach (var (claim, index) in claims.Select((c, i) => (c!, i)))
        {
            var stored = await backend.App.Appeals.GetAppealAsync(new GetAppealRequest { AppealId = claim.Id }, cancellationToken: Token);
            Assert.Equal((AppealState.InReview, $"rev-{index}"), (stored.State, stored.Assignee));
        }
    }

    [Fact]
    public async Task A_reviewer_is_never_handed_an_appeal_against_their_own_call_and_gets_none_when_none_is_left()
    {
        var own = await OpenAppealAsync("mod-own");
        var claimed = new List<string>();

        // Each claimed appeal is decided, so the next claim moves on (a held appeal comes back until then).
        while (await ClaimAsync("mod-own") is { } next)
        {
            claimed.Add(next.Id);
            await backend.App.Appeals.DecideAppealAsync(new DecideAppealRequest
            {
                AppealId = next.Id, ReviewerId = "mod-own", Decision = AppealDecision.Uphold, Rationale = "Stands.",
            }, cancellationToken: Token);
        }

        Assert.DoesNotContain(own, claimed);
        var stored = await backend.App.Appeals.GetAppealAsync(new GetAppealRequest { AppealId = own }, cancellationToken: Token);
        Assert.Equal((AppealState.Submitted, ""), (stored.State, stored.Assignee));
        Assert.Equal(own, (await ClaimAsync("rev-other"))?.Id);
    }

    [Fact]
    public async Task A_reviewer_who_already_holds_an_appeal_gets_that_one_back_first()
    {
        await OpenAppealAsync("mod-7");
        var first = await ClaimAsync("rev-holder");
        await OpenAppealAsync("mod-7");

        var again = await ClaimAsync("rev-holder");

        Assert.Equal(first!.Id, again!.Id);
    }

    private async Task<Domain.Appeals.Appeal?> ClaimAsync(string reviewer)
    {
        await using var scope = backend.App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ISender>().Send(new ClaimNextAppealCommand(reviewer), Token);
    }

    private async Task<string> OpenAppealAsync(string decidedBy)
    {
        var request = Violation(NewUserId());
        request.DecidedBy = decidedBy;
        var violation = (await backend.App.Scoring.RecordViolationAsync(request, cancellationToken: Token)).Violation;
        var appeal = await backend.App.Appeals.SubmitAppealAsync(
            new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = violation.UserId, Statement = "Not me." }, cancellationToken: Token);
        return appeal.AppealId;
    }
}

public sealed class PostgresRedisClaimNextAppealTests(PostgresRedisBackend backend) : ClaimNextAppealTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteClaimNextAppealTests(SqliteBackend backend) : ClaimNextAppealTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerClaimNextAppealTests(PgBouncerBackend backend) : ClaimNextAppealTests(backend), IClassFixture<PgBouncerBackend>;
