using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Scoring.Api.Grpc;
using Scoring.Api.Tests.Infrastructure;
using ScoringPolicy = Scoring.Domain.Policies.ScoringPolicy;
using Scoring.Domain.Scores;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;
using DomainStanding = Scoring.Domain.Standing;
using DomainSeverity = Scoring.Domain.Severity;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The policy lifecycle (issue 13): draft, publish, simulate, activate, roll back; on every storage
/// configuration. Each test has a service and a database of its own, so a simulation sees exactly the
/// population the test seeded and an activation changes no other test's policy.
/// </summary>
public abstract class PolicyLifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A new, empty store (a database) that several services may share.</summary>
    protected abstract Task<string> NewStoreAsync();

    /// <summary>A service on <paramref name="store"/> with its own fake clock at <see cref="ScoringApp.Start"/>.</summary>
    protected abstract ScoringApp NewApp(string store, Dictionary<string, string?>? settings = null);

    /// <summary>
    /// The harsher fraud campaign and more: fraud weighs 3, spam decays half as fast, WARNED begins
    /// at 12, violent extremism is no longer zero-tolerance and hate speech becomes so.
    /// </summary>
    private static ScoringPolicy Campaign(string version) => ScoringPolicy.Default with
    {
        Version = version,
        Categories =
        [
            .. ScoringPolicy.Default.Categories.Select(c => c.Name switch
            {
                "fraud" => c with { Weight = 3.0 },
                "spam" => c with { HalfLife = TimeSpan.FromDays(28) },
                "violent_extremism" => c with { ZeroTolerance = false },
                "hate_speech" => c with { ZeroTolerance = true },
                _ => c,
            }),
        ],
        Thresholds = ScoringPolicy.Default.Thresholds with { Warned = 12 },
    };

    [Fact]
    public async Task Draft_publish_simulate_activate_and_roll_back_match_a_direct_computation_on_a_seeded_population()
    {
        // Pages of two users, so a page often ends inside a user's violations and the cut is exercised; short
        // refresh and poll intervals, so a second of this test's clock lets the re-scoring pass run.
        using var app = NewApp(await NewStoreAsync(), new()
        {
            ["Policies:JobPageSize"] = "2",
            ["Policies:RefreshInterval"] = "00:00:00.100",
            ["Policies:JobPollInterval"] = "00:00:00.100",
        });
        var population = await SeedAsync(app, users: 60, seed: 13);
        var baseline = ScoringPolicy.Default;
        var candidate = Campaign("campaign-" + Guid.NewGuid().ToString("N")[..6]);
        var now = app.Time.GetUtcNow();

        await app.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = candidate.ToProto(), Description = "Fraud campaign" }, cancellationToken: Token);
        await app.Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = candidate.Version }, cancellationToken: Token);
        var feedBefore = await FeedOfAsync(app, population.Keys);

        var started = await app.Policies.StartPolicySimulationAsync(new StartPolicySimulationRequest { CandidateVersion = candidate.Version }, cancellationToken: Token);
        var simulation = await WaitForSimulationAsync(app, started.SimulationId);

        // The direct computation: every seeded user scored under both versions by the domain.
        var expected = population.ToDictionary(p => p.Key, p => (Before: ScoreCalculator.Compute(baseline, p.Value, now, true), After: ScoreCalculator.Compute(candidate, p.Value, now, true)));
        var result = simulation.Result;
        Assert.Equal((PolicySimulationState.Succeeded, baseline.Version, 60L, 60L), (simulation.State, simulation.BaselineVersion, simulation.UsersDone, result.Users));
        Assert.Equal(25, result.Transitions.Count);
        foreach (var cell in result.Transitions)
        {
            var users = expected.Where(e => e.Value.Before.Standing == (DomainStanding)cell.FromStanding && e.Value.After.Standing == (DomainStanding)cell.ToStanding)
                .Select(e => e.Key).ToHashSet();
            Assert.Equal(users.Count, cell.Users);
            Assert.Equal(cell.FromStanding == cell.ToStanding ? 0 : Math.Min(20, users.Count), cell.SampleUserIds.Count);
            Assert.Subset(users, cell.SampleUserIds.ToHashSet());
        }

        var changing = expected.Count(e => e.Value.Before.Standing != e.Value.After.Standing);
        Assert.True(changing > 0, "the campaign must move someone, or the matrix proves nothing");
        Assert.Equal(changing, result.UsersChangingStanding);
        var deltas = expected.Values.Select(e => e.After.Points - e.Before.Points).Where(d => Math.Abs(d) > 1e-9).Order().ToArray();
        Assert.Equal(deltas.Length, result.UsersPointsChanged);
        AssertPercentile(deltas, 0.50, result.PointsDeltaP50);
        AssertPercentile(deltas, 0.90, result.PointsDeltaP90);
        AssertPercentile(deltas, 0.99, result.PointsDeltaP99);
        Assert.Equal(expected.Count(e => !e.Value.Before.Permanent && e.Value.After.Permanent), result.UsersBecomingBanned);
        Assert.Equal(expected.Count(e => e.Value.Before.Permanent && !e.Value.After.Permanent), result.UsersNoLongerBanned);
        Assert.True(result.UsersBecomingBanned + result.UsersNoLongerBanned > 0, "the zero-tolerance swap must move someone");
        foreach (var category in result.Categories)
        {
            var before = expected.Values.SelectMany(e => e.Before.Breakdown).Where(c => c.Violation.Category == category.Category).ToArray();
            var after = expected.Values.SelectMany(e => e.After.Breakdown).Where(c => c.Violation.Category == category.Category).ToArray();
            Assert.Equal((before.Length, after.Length), (category.BaselineViolations, category.CandidateViolations));
            Assert.Equal(before.Sum(c => c.CurrentPoints), category.BaselinePoints, 1e-6);
            Assert.Equal(after.Sum(c => c.CurrentPoints), category.CandidatePoints, 1e-6);
        }

        // A simulation writes nothing: no feed entry, and scores still come from the active version.
        Assert.NotEmpty(feedBefore);
        Assert.Equal(feedBefore, await FeedOfAsync(app, population.Keys));
        await AssertScoresAsync(app, expected.ToDictionary(e => e.Key, e => e.Value.Before), baseline.Version);

        // Activation: scores under the candidate at once, and (once every replica could have seen it) a
        // _POLICY change for each user whose standing moved.
        var activation = await app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = candidate.Version, Reason = "Q4 fraud campaign" }, cancellationToken: Token);
        Assert.Equal((PolicyVersionState.Active, PolicyVersionState.Retired, baseline.Version), (activation.Activated.State, activation.Retired.State, activation.Retired.Version));
        await AssertScoresAsync(app, expected.ToDictionary(e => e.Key, e => e.Value.After), candidate.Version);
        app.Time.Advance(TimeSpan.FromSeconds(1));
        await AssertPolicyChangesAsync(app, Moves(population, baseline, candidate, app.Time.GetUtcNow()), candidate.Version);

        // Rollback is activating the previous version: the scores and the standings come back.
        await app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = baseline.Version, Reason = "campaign over" }, cancellationToken: Token);
        await AssertScoresAsync(app, population.ToDictionary(p => p.Key, p => ScoreCalculator.Compute(baseline, p.Value, app.Time.GetUtcNow())), baseline.Version);
        app.Time.Advance(TimeSpan.FromSeconds(1));
        await AssertPolicyChangesAsync(app, Moves(population, candidate, baseline, app.Time.GetUtcNow()), baseline.Version);

        // Every state change is on the system chain, which verifies.
        var chain = await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { System = true, PageSize = 500 }, cancellationToken: Token);
        Assert.Equal(
            ["policy.activated", "policy.drafted", "policy.published", "policy.retired", "policy.activated", "policy.retired", "policy.activated"],
            chain.Entries.Select(e => e.Action));
        Assert.Equal(("Q4 fraud campaign", candidate.Version), (chain.Entries[4].Reason, chain.Entries[4].TargetId));
        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { System = true }, cancellationToken: Token);
        Assert.Equal((true, 7L), (verified.Valid, verified.EntriesChecked));
    }

    [Fact]
    public async Task Another_replica_scores_under_the_new_version_after_its_refresh_and_serves_no_state_cached_under_the_old()
    {
        var store = await NewStoreAsync();
        using var one = NewApp(store);
        using var two = NewApp(store);
        var user = NewUserId();
        var occurred = Domain.Instants.ToMicroseconds(one.Time.GetUtcNow() - TimeSpan.FromDays(360));
        await one.Scoring.RecordViolationAsync(Violation(user, "fraud", Severity.High, occurred), cancellationToken: Token);
        // Ten days on, the violation is past the default's max_age (365 d): both replicas cache a state without it.
        one.Time.Advance(TimeSpan.FromDays(10));
        two.Time.Advance(TimeSpan.FromDays(10));
        var before = await two.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);
        var beforeOnOne = await one.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);
        // The campaign keeps violations two years: served from a state cached under the default, the user would have no points.
        var candidate = Campaign("replicas-" + Guid.NewGuid().ToString("N")[..6]) with { MaxAge = TimeSpan.FromDays(730) };
        await one.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = candidate.ToProto() }, cancellationToken: Token);
        await one.Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = candidate.Version }, cancellationToken: Token);

        await one.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = candidate.Version, Reason = "test" }, cancellationToken: Token);
        // The activating replica at once, reading the state it cached under the old version.
        var onOne = await one.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);
        // The other within one refresh interval of its clock.
        two.Time.Advance(TimeSpan.FromSeconds(5));
        await two.Logs.WaitForAsync(e => e.Message.StartsWith($"Scoring under policy version {candidate.Version} ", StringComparison.Ordinal), Bound);
        var onTwo = await two.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);

        Assert.Equal((ScoringPolicy.Default.Version, 0.0, 0), (before.PolicyVersion, before.Points, before.ActiveViolations));
        Assert.Equal((0.0, 0), (beforeOnOne.Points, beforeOnOne.ActiveViolations));
        // Fraud HIGH under the campaign: 40 × 3, decayed over 370 days with a 90-day half-life.
        ScoredViolation[] violations = [new("v", "fraud", DomainSeverity.High, occurred)];
        Assert.Equal((candidate.Version, 1), (onOne.PolicyVersion, onOne.ActiveViolations));
        Assert.Equal(ScoreCalculator.Compute(candidate, violations, onOne.ComputedAt.ToDateTimeOffset()).Points, onOne.Points, 1e-9);
        Assert.Equal((candidate.Version, 1), (onTwo.PolicyVersion, onTwo.ActiveViolations));
        Assert.Equal(ScoreCalculator.Compute(candidate, violations, onTwo.ComputedAt.ToDateTimeOffset()).Points, onTwo.Points, 1e-9);
        var violation = (await two.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = user }, cancellationToken: Token)).Violations.Single();
        Assert.Equal((120.0, candidate.Version), (violation.BasePoints, violation.PolicyVersion));
    }

    [Fact]
    public async Task Activation_takes_only_a_published_or_retired_version_and_a_reason()
    {
        using var app = NewApp(await NewStoreAsync());
        var draft = Campaign("draft-" + Guid.NewGuid().ToString("N")[..6]);
        await app.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = draft.ToProto() }, cancellationToken: Token);

        await AssertFails(StatusCode.FailedPrecondition, () => app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = draft.Version, Reason = "x" }, cancellationToken: Token).ResponseAsync);
        await AssertFails(StatusCode.FailedPrecondition, () => app.Policies.StartPolicySimulationAsync(new StartPolicySimulationRequest { CandidateVersion = draft.Version }, cancellationToken: Token).ResponseAsync);
        await AssertFails(StatusCode.NotFound, () => app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = "no-such-version", Reason = "x" }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("reason", () => app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = draft.Version }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("as_of", () => app.Policies.StartPolicySimulationAsync(
            new StartPolicySimulationRequest { CandidateVersion = ScoringPolicy.Default.Version, AsOf = new Timestamp { Seconds = -1 } }, cancellationToken: Token).ResponseAsync);
        await AssertFails(StatusCode.NotFound, () => app.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = Guid.NewGuid().ToString() }, cancellationToken: Token).ResponseAsync);

        // Activating the active version changes nothing, and audits nothing.
        var again = await app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = ScoringPolicy.Default.Version, Reason = "again" }, cancellationToken: Token);
        Assert.Null(again.Retired);
        var chain = await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { System = true }, cancellationToken: Token);
        Assert.Equal(["policy.activated", "policy.drafted"], chain.Entries.Select(e => e.Action));
        await AssertInvalid("user_id", () => app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = "u-1", System = true }, cancellationToken: Token).ResponseAsync);
    }

    [Fact]
    public async Task A_running_simulation_can_be_cancelled_and_then_stays_cancelled()
    {
        // One user per page, and a pause between pages that this test's clock never ends.
        using var app = NewApp(await NewStoreAsync(), new() { ["Policies:JobPageSize"] = "1", ["Policies:JobPagePause"] = "00:01:00" });
        await SeedAsync(app, users: 3, seed: 5);

        var started = await app.Policies.StartPolicySimulationAsync(new StartPolicySimulationRequest { CandidateVersion = ScoringPolicy.Default.Version }, cancellationToken: Token);
        // A replica took it: its first page runs, then it rests on this test's clock.
        await app.Logs.WaitForAsync(e => e.Message.StartsWith($"Policy Simulation {started.SimulationId} of ", StringComparison.Ordinal) && e.Message.EndsWith(" started", StringComparison.Ordinal), Bound);
        var cancelled = await app.Policies.CancelPolicySimulationAsync(new CancelPolicySimulationRequest { SimulationId = started.SimulationId }, cancellationToken: Token);
        app.Time.Advance(TimeSpan.FromMinutes(1));
        var again = await app.Policies.CancelPolicySimulationAsync(new CancelPolicySimulationRequest { SimulationId = started.SimulationId }, cancellationToken: Token);
        var read = await app.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = started.SimulationId }, cancellationToken: Token);

        Assert.Equal(PolicySimulationState.Pending, started.State);
        Assert.Equal((PolicySimulationState.Cancelled, PolicySimulationState.Cancelled), (cancelled.State, again.State));
        Assert.Equal(PolicySimulationState.Cancelled, read.State);
        Assert.InRange(read.UsersDone, 0, 1);
        Assert.Null(read.Result);
        var listed = await app.Policies.ListPolicySimulationsAsync(new ListPolicySimulationsRequest(), cancellationToken: Token);
        Assert.Equal((started.SimulationId, PolicySimulationState.Cancelled), (listed.Simulations.Single().SimulationId, listed.Simulations.Single().State));
    }

    /// <summary>Users with 1-4 violations each, of every kind, over the last 200 days; what each has, as the domain scores it.</summary>
    private static async Task<Dictionary<string, ScoredViolation[]>> SeedAsync(ScoringApp app, int users, int seed)
    {
        var random = new Random(seed);
        string[] categories = ["spam", "harassment", "fraud", "hate_speech", "violent_extremism"];
        var now = app.Time.GetUtcNow();
        var population = new Dictionary<string, ScoredViolation[]>();
        for (var u = 0; u < users; u++)
        {
            var user = NewUserId();
            var violations = new List<ScoredViolation>();
            for (var v = random.Next(1, 5); v > 0; v--)
            {
                var category = categories[random.Next(categories.Length)];
                var severity = (Severity)random.Next(1, 5);
                var occurred = Domain.Instants.ToMicroseconds(now - TimeSpan.FromHours(random.Next(0, 200 * 24)));
                var recorded = await app.Scoring.RecordViolationAsync(Violation(user, category, severity, occurred), cancellationToken: Token);
                violations.Add(new ScoredViolation(recorded.Violation.ViolationId, category, (DomainSeverity)severity, occurred));
            }

            population[user] = [.. violations];
        }

        return population;
    }

    /// <summary>
    /// The users' feed with everything committed so far. The feed lists only what committed below the oldest
    /// transaction running on the server, and other tests' transactions count, so a read may briefly lack
    /// this test's own entries: on PostgreSQL this reads until the feed's revision passes a transaction begun
    /// after them (bounded).
    /// </summary>
    private static async Task<List<StandingChange>> FeedOfAsync(ScoringApp app, IEnumerable<string> users)
    {
        long? after = null;
        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Api.Infrastructure.Persistence.ScoringDbContext>();
            if (db.Database.ProviderName == "Npgsql.EntityFrameworkCore.PostgreSQL")
            {
                after = await db.Database.SqlQueryRaw<long>("SELECT txid_current() AS \"Value\"").SingleAsync(Token);
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var page = await app.Standings.ListStandingChangesAsync(new ListStandingChangesRequest { UserIds = { users }, PageSize = 1000 }, cancellationToken: Token);
            // A revision is a transaction id then a sequence, 16 hex digits each; the page's revision is the
            // horizon, one below the oldest transaction still running.
            if (after is null || Convert.ToInt64(page.Revision[..16], 16) >= after || clock.Elapsed > Bound)
            {
                return [.. page.Changes];
            }
        }
    }

    private static async Task<PolicySimulation> WaitForSimulationAsync(ScoringApp app, string id)
    {
        await app.Logs.WaitForAsync(e => e.Message.StartsWith($"Policy Simulation {id} of ", StringComparison.Ordinal) && e.Message.Contains(" succeeded after ", StringComparison.Ordinal), Bound);
        return await app.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = id }, cancellationToken: Token);
    }

    private static async Task AssertScoresAsync(ScoringApp app, Dictionary<string, Score> expected, string version)
    {
        var request = new GetScoresRequest { UserIds = { expected.Keys } };
        var scores = await app.Scoring.GetScoresAsync(request, cancellationToken: Token);
        foreach (var score in scores.Scores)
        {
            Assert.Equal(version, score.PolicyVersion);
            Assert.Equal(expected[score.UserId].Points, score.Points, 1e-9);
            Assert.Equal(expected[score.UserId].Standing, (DomainStanding)score.Standing);
        }
    }

    /// <summary>Each user's standing under one version and under another, at an instant.</summary>
    private static Dictionary<string, (DomainStanding From, DomainStanding To)> Moves(
        Dictionary<string, ScoredViolation[]> population, ScoringPolicy from, ScoringPolicy to, DateTimeOffset at) =>
        population.ToDictionary(p => p.Key, p => (ScoreCalculator.Compute(from, p.Value, at).Standing, ScoreCalculator.Compute(to, p.Value, at).Standing));

    /// <summary>Waits for every re-scoring pass to end, then checks they recorded exactly one _POLICY change for each user whose standing moved, and none for the others.</summary>
    private static async Task AssertPolicyChangesAsync(
        ScoringApp app, Dictionary<string, (DomainStanding From, DomainStanding To)> expected, string version)
    {
        var moved = expected.Where(e => e.Value.From != e.Value.To).ToDictionary();
        // The pass after this version's activation ran to its end (each version is activated once in these tests).
        await app.Logs.WaitForAsync(e => IsPassOf(e.Message, version), Bound);
        // The feed lists only what committed below the oldest transaction still running on the server, and
        // other tests' transactions share that server: look again (bounded) until the pass's entries show.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        StandingChange[] policy;
        do
        {
            var changes = (await app.Standings.ListStandingChangesAsync(
                new ListStandingChangesRequest { UserIds = { expected.Keys }, PageSize = 1000 }, cancellationToken: Token)).Changes;
            policy = changes.Where(c => c.Cause == StandingChangeCause.Policy && c.PolicyVersion == version).ToArray();
        }
        while (policy.Length < moved.Count && clock.Elapsed < Bound);

        Assert.Equal(moved.Keys.Order(), policy.Select(c => c.UserId).Order());
        Assert.All(policy, c => Assert.Equal((moved[c.UserId].From, moved[c.UserId].To, version), ((DomainStanding)c.PreviousStanding, (DomainStanding)c.Standing, c.PolicyVersion)));
    }

    private static void AssertPercentile(double[] sorted, double fraction, double actual)
    {
        var expected = sorted.Length == 0 ? 0 : sorted[Math.Max(0, (int)Math.Ceiling(fraction * sorted.Length) - 1)];
        Assert.True(Math.Abs(actual - expected) <= (0.011 * Math.Abs(expected)) + 1e-3, $"p{fraction * 100}: {actual} is not {expected} to within 1 %");
    }

    private static bool IsPassOf(string message, string version) =>
        message.StartsWith("Policy Rescore ", StringComparison.Ordinal) && message.Contains($" of {version} succeeded after ", StringComparison.Ordinal);
}

public sealed class PostgresRedisPolicyLifecycleTests(TestServers servers) : PolicyLifecycleTests, IDisposable
{
    private readonly List<string> _stores = [];

    protected override async Task<string> NewStoreAsync()
    {
        var store = await servers.Postgres.CreateDatabaseAsync();
        _stores.Add(store);
        return store;
    }

    // Each test has databases of its own: their idle pooled connections would otherwise hold server slots until they age out.
    public void Dispose() => _stores.ForEach(store => Npgsql.NpgsqlConnection.ClearPool(new Npgsql.NpgsqlConnection(store)));

    protected override ScoringApp NewApp(string store, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = store,
            ["ConnectionStrings:Redis"] = servers.Redis.ConnectionString,
            ["Cache:WriteTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return new ScoringApp(all, new FakeTimeProvider(ScoringApp.Start));
    }
}

public sealed class SqlitePolicyLifecycleTests : PolicyLifecycleTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-lifecycle-").FullName;

    protected override Task<string> NewStoreAsync() => Task.FromResult(Path.Combine(_directory, $"{Guid.NewGuid():N}.db"));

    protected override ScoringApp NewApp(string store, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Scoring"] = $"Data Source={store}",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return new ScoringApp(all, new FakeTimeProvider(ScoringApp.Start));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
