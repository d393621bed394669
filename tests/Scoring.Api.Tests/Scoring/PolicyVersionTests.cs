using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>The versions of the policy (issue 13, first part): bootstrap, drafts, publishing, reading; on every storage configuration.</summary>
public abstract class PolicyVersionTests(Backend backend)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private V1.Policies.PoliciesClient Policies => new(backend.App.Channel);

    [Fact]
    public async Task The_running_policy_is_stored_as_the_first_active_version_with_the_hash_of_its_canonical_form()
    {
        var running = await backend.App.Scoring.GetPolicyAsync(new GetPolicyRequest(), cancellationToken: Token);

        var active = (await ListAllAsync()).Single(v => v.State == PolicyVersionState.Active);

        Assert.Equal((running.Version, "bootstrap"), (active.Version, active.Author));
        Assert.Equal(Domain.Policies.PolicyCanonicalForm.Hash(Domain.Policies.ScoringPolicy.Default), active.ContentHash);
        Assert.Equal(running.Categories.Select(c => c.Name).Order(), active.Policy.Categories.Select(c => c.Name));
        Assert.NotNull(active.ActivatedAt);
    }

    [Fact]
    public async Task A_draft_is_created_from_a_version_changed_published_and_then_frozen()
    {
        var name = "fraud-campaign-" + Guid.NewGuid().ToString("N")[..8];
        var active = (await ListAllAsync()).Single(v => v.State == PolicyVersionState.Active);

        var draft = await Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { FromVersion = active.Version, Version = name, Description = "Harsher fraud" }, cancellationToken: Token);
        var changed = draft.Policy.Clone();
        changed.Categories.Single(c => c.Name == "fraud").Weight = 3;
        var updated = await Policies.UpdatePolicyDraftAsync(new UpdatePolicyDraftRequest { Version = name, Policy = changed, Description = "Fraud weight 3 for the campaign" }, cancellationToken: Token);
        var published = await Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = name }, cancellationToken: Token);

        var copied = active.Policy.Clone();
        copied.Version = name;
        // The same rules under another name: the same hash.
        Assert.Equal((PolicyVersionState.Draft, copied, active.ContentHash), (draft.State, draft.Policy, draft.ContentHash));
        Assert.NotEqual(active.ContentHash, updated.ContentHash);
        Assert.Equal((PolicyVersionState.Published, updated.ContentHash, "Fraud weight 3 for the campaign"), (published.State, published.ContentHash, published.Description));
        Assert.Equal(3, published.Policy.Categories.Single(c => c.Name == "fraud").Weight);
        Assert.NotNull(published.PublishedAt);
        Assert.Equal(published, await Policies.GetPolicyVersionAsync(new GetPolicyVersionRequest { Version = name }, cancellationToken: Token));

        changed.Categories.Single(c => c.Name == "fraud").Weight = 4;
        await AssertFails(StatusCode.FailedPrecondition, () => Policies.UpdatePolicyDraftAsync(new UpdatePolicyDraftRequest { Version = name, Policy = changed }, cancellationToken: Token).ResponseAsync);
        // Retried calls are harmless; the same name with other rules is not.
        Assert.Equal(published, await Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = name }, cancellationToken: Token));
        await AssertFails(StatusCode.AlreadyExists, () => Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { FromVersion = active.Version, Version = name }, cancellationToken: Token).ResponseAsync);
        var repeat = new CreatePolicyDraftRequest { Policy = published.Policy, Description = published.Description };
        Assert.Equal(published, await Policies.CreatePolicyDraftAsync(repeat, cancellationToken: Token));
    }

    [Fact]
    public async Task An_invalid_draft_is_refused_with_each_problem_at_its_field_path()
    {
        var policy = (await backend.App.Scoring.GetPolicyAsync(new GetPolicyRequest(), cancellationToken: Token)).Clone();
        policy.Version = "broken-" + Guid.NewGuid().ToString("N")[..8];
        policy.Categories[3].HalfLife = Duration.FromTimeSpan(TimeSpan.Zero);
        policy.Thresholds.Suspended = 1;

        var status = await AssertFails(StatusCode.InvalidArgument, () => Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = policy }, cancellationToken: Token).ResponseAsync);

        AssertNamesField(status, "policy.categories[3].half_life");
        AssertNamesField(status, "policy.thresholds.suspended");
        await AssertFails(StatusCode.NotFound, () => Policies.GetPolicyVersionAsync(new GetPolicyVersionRequest { Version = policy.Version }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("policy", () => Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Version = "no-source" }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("version", () => Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { FromVersion = "x", Version = "has/slash" }, cancellationToken: Token).ResponseAsync);
    }

    [Fact]
    public async Task Versions_are_listed_newest_first_a_page_at_a_time()
    {
        var active = (await ListAllAsync()).Single(v => v.State == PolicyVersionState.Active);
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            backend.App.Time.Advance(TimeSpan.FromSeconds(1));
            var name = $"listed-{i}-{Guid.NewGuid():N}"[..20];
            await Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { FromVersion = active.Version, Version = name }, cancellationToken: Token);
            names.Add(name);
        }

        var first = await Policies.ListPolicyVersionsAsync(new ListPolicyVersionsRequest { PageSize = 2 }, cancellationToken: Token);
        var all = await ListAllAsync(pageSize: 2);

        Assert.Equal([names[2], names[1]], first.Versions.Select(v => v.Version));
        Assert.NotEmpty(first.NextPageToken);
        Assert.Equal(all.OrderByDescending(v => v.CreatedAt.ToDateTimeOffset()).ThenByDescending(v => v.Version, StringComparer.Ordinal).Select(v => v.Version), all.Select(v => v.Version));
        Assert.Equal(all.Count, all.Select(v => v.Version).Distinct().Count());
    }

    [Fact]
    public async Task A_change_made_on_a_version_as_it_no_longer_is_is_aborted()
    {
        var name = "etag-" + Guid.NewGuid().ToString("N")[..8];
        var active = (await ListAllAsync()).Single(v => v.State == PolicyVersionState.Active);
        var read = await Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { FromVersion = active.Version, Version = name }, cancellationToken: Token);
        var mine = read.Policy.Clone();
        mine.Thresholds.Banned = 300;
        var theirs = read.Policy.Clone();
        theirs.Thresholds.Banned = 400;

        var first = await Policies.UpdatePolicyDraftAsync(new UpdatePolicyDraftRequest { Version = name, Policy = theirs, Etag = read.Etag }, cancellationToken: Token);
        await AssertFails(StatusCode.Aborted, () => Policies.UpdatePolicyDraftAsync(new UpdatePolicyDraftRequest { Version = name, Policy = mine, Etag = read.Etag }, cancellationToken: Token).ResponseAsync);
        await AssertFails(StatusCode.Aborted, () => Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = name, Etag = read.Etag }, cancellationToken: Token).ResponseAsync);
        var published = await Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = name, Etag = first.Etag }, cancellationToken: Token);

        Assert.NotEqual(read.Etag, first.Etag);
        Assert.Equal(400, published.Policy.Thresholds.Banned);
    }

    [Fact]
    public async Task A_page_token_the_service_never_gave_is_an_invalid_argument()
    {
        var forged = Convert.ToBase64String("9223372036854775807|x"u8).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        await AssertInvalid("page_token", () => Policies.ListPolicyVersionsAsync(new ListPolicyVersionsRequest { PageToken = forged }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("page_token", () => backend.App.Appeals.ListAppealsAsync(new ListAppealsRequest { PageToken = forged }, cancellationToken: Token).ResponseAsync);
    }

    private async Task<List<PolicyVersion>> ListAllAsync(int pageSize = 100)
    {
        var versions = new List<PolicyVersion>();
        var token = "";
        do
        {
            var page = await Policies.ListPolicyVersionsAsync(new ListPolicyVersionsRequest { PageSize = pageSize, PageToken = token }, cancellationToken: Token);
            versions.AddRange(page.Versions);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        return versions;
    }
}

public sealed class PostgresRedisPolicyVersionTests(PostgresRedisBackend backend) : PolicyVersionTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqlitePolicyVersionTests(SqliteBackend backend) : PolicyVersionTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerPolicyVersionTests(PgBouncerBackend backend) : PolicyVersionTests(backend), IClassFixture<PgBouncerBackend>;
