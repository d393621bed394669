using Scoring.Domain.Policies;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class PolicyVersionTests
{
    // Pinned: changing the canonical form changes every stored hash, so it must be a deliberate act.
    private const string DefaultRulesHash = "c74074856cda0d251b9984913a9499b2101253db61abb0b175af13a6c6704b72";

    [Fact]
    public void The_canonical_form_of_the_default_policy_is_pinned()
    {
        Assert.Equal(DefaultRulesHash, PolicyCanonicalForm.Hash(Policy));
        Assert.StartsWith(
            """{"version":"default-2026-11","severity_points":{"low":5,"medium":15,"high":40,"critical":100},"categories":[{"name":"fraud","weight":1.5,"half_life":"90.00:00:00","zero_tolerance":false},""",
            PolicyCanonicalForm.Write(Policy), StringComparison.Ordinal);
    }

    [Fact]
    public void The_hash_names_the_rules_whatever_the_version_is_called_or_the_order_of_the_categories()
    {
        var renamed = Policy with { Version = "another-name", Categories = [.. Policy.Categories.Reverse()] };
        var harsher = Policy with { Categories = [.. Policy.Categories.Select(c => c.Name == "fraud" ? c with { Weight = 3 } : c)] };

        Assert.Equal(PolicyCanonicalForm.Hash(Policy), PolicyCanonicalForm.Hash(renamed));
        Assert.NotEqual(PolicyCanonicalForm.Hash(Policy), PolicyCanonicalForm.Hash(harsher));
    }

    [Fact]
    public void Durations_and_numbers_that_would_overflow_are_refused_by_field()
    {
        var huge = Policy with
        {
            MaxAge = TimeSpan.FromDays(3_650_000),
            Categories = [new CategoryPolicy("spam", 1e308, TimeSpan.FromMilliseconds(500))],
        };

        Assert.Equal(["max_age", "categories[0].weight", "categories[0].half_life"], huge.Validate().Select(p => p.Field));
    }

    [Fact]
    public void A_version_moves_draft_published_active_retired_and_a_published_one_never_changes()
    {
        var version = PolicyVersion.Draft(Policy, "first", "admin-1", Now);
        version.Publish(Now);

        Assert.Throws<DomainException>(() => version.Update(Policy, "again", Now));
        Assert.Throws<DomainException>(() => version.Publish(Now));
        version.Activate(Now);
        version.Retire(Now);
        Assert.Equal(PolicyVersionState.Retired, version.State);
        version.Activate(Now);
        Assert.Equal(PolicyVersionState.Active, version.State);
        Assert.Throws<InvalidPolicyContentException>(() => PolicyVersion.Draft(Policy with { MaxAge = TimeSpan.Zero }, "", "admin-1", Now));
    }
}
