using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// What statements of reasons will need (issue 14, first part): a violation's decision ground and legal ground,
/// and the policy's map of categories and sources onto the DSA transparency database; on every storage configuration.
/// </summary>
public abstract class DsaFieldsTests(Backend backend)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_violations_decision_and_legal_ground_are_kept_and_a_replay_must_carry_the_same()
    {
        var request = Violation(NewUserId(), "fraud", Severity.High);
        request.DecisionGround = DecisionGround.IncompatibleContent;
        request.LegalGround = "Terms of service, section 4.2 (deceptive listings)";

        var recorded = await backend.App.Scoring.RecordViolationAsync(request, cancellationToken: Token);
        var listed = (await backend.App.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = request.UserId }, cancellationToken: Token)).Violations.Single();
        var replay = await backend.App.Scoring.RecordViolationAsync(request, cancellationToken: Token);
        var changed = request.Clone();
        changed.LegalGround = "Terms of service, section 9";

        Assert.Equal((DecisionGround.IncompatibleContent, request.LegalGround), (recorded.Violation.DecisionGround, recorded.Violation.LegalGround));
        Assert.Equal((DecisionGround.IncompatibleContent, request.LegalGround), (listed.DecisionGround, listed.LegalGround));
        Assert.True(replay.Duplicate);
        await AssertFails(StatusCode.AlreadyExists, () => backend.App.Scoring.RecordViolationAsync(changed, cancellationToken: Token).ResponseAsync);
    }

    [Fact]
    public async Task An_unknown_decision_ground_or_an_overlong_legal_ground_is_an_invalid_argument_naming_it()
    {
        var unknown = Violation(NewUserId());
        unknown.DecisionGround = (DecisionGround)7;
        var overlong = Violation(NewUserId());
        overlong.LegalGround = new string('x', 501);

        await AssertInvalid("decision_ground", () => backend.App.Scoring.RecordViolationAsync(unknown, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("legal_ground", () => backend.App.Scoring.RecordViolationAsync(overlong, cancellationToken: Token).ResponseAsync);
    }

    [Fact]
    public async Task A_policy_maps_categories_and_sources_onto_the_dsa_database_and_a_value_it_does_not_know_is_named_by_its_path()
    {
        var policy = (await backend.App.Scoring.GetPolicyAsync(new GetPolicyRequest(), cancellationToken: Token)).Clone();
        policy.Version = "dsa-" + Guid.NewGuid().ToString("N")[..8];
        policy.Categories.Single(c => c.Name == "fraud").DsaCategory = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD";
        policy.SourceTypes["mod.queue"] = "SOURCE_VOLUNTARY";
        policy.SourceTypes["notice.form"] = "SOURCE_ARTICLE_16";
        var broken = policy.Clone();
        broken.Version += "-broken";
        broken.Categories[0].DsaCategory = "STATEMENT_CATEGORY_SPAM";
        broken.SourceTypes["mod.queue"] = "SOURCE_GUESSWORK";

        var draft = await backend.App.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = policy }, cancellationToken: Token);
        var status = await AssertFails(StatusCode.InvalidArgument, () => backend.App.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = broken }, cancellationToken: Token).ResponseAsync);

        Assert.Equal("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", draft.Policy.Categories.Single(c => c.Name == "fraud").DsaCategory);
        Assert.Equal(policy.SourceTypes, draft.Policy.SourceTypes);
        // The mapping is part of the rules, so of the hash; a policy without one keeps the hash it always had.
        Assert.NotEqual(Domain.Policies.PolicyCanonicalForm.Hash(Domain.Policies.ScoringPolicy.Default), draft.ContentHash);
        AssertNamesField(status, "policy.categories[0].dsa_category");
        AssertNamesField(status, "policy.source_types[mod.queue]");
    }
}

public sealed class PostgresRedisDsaFieldsTests(PostgresRedisBackend backend) : DsaFieldsTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteDsaFieldsTests(SqliteBackend backend) : DsaFieldsTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerDsaFieldsTests(PgBouncerBackend backend) : DsaFieldsTests(backend), IClassFixture<PgBouncerBackend>;
