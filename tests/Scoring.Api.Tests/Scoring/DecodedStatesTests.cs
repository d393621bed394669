using System.Text.Json;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Domain;
using Scoring.Domain.Scores;

namespace Scoring.Api.Tests.Scoring;

/// <summary>A cached entry is decoded once while Redis returns the same bytes, and never answered with another entry's state.</summary>
public sealed class DecodedStatesTests
{
    private static readonly DateTimeOffset Occurred = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_same_bytes_reuse_the_state_decoded_from_them()
    {
        var states = new DecodedStates();
        var entry = Bytes(State(7, "v-1"));

        var first = states.Decode(entry);
        var again = states.Decode((byte[])entry.Clone());

        Assert.Same(first, again);
        Assert.Equal(7, first!.Version);
    }

    [Fact]
    public void Changed_bytes_are_decoded_afresh()
    {
        var states = new DecodedStates();
        var before = states.Decode(Bytes(State(7, "v-1")));

        var after = states.Decode(Bytes(State(8, "v-1", "v-2")));

        Assert.NotSame(before, after);
        Assert.Equal(8, after!.Version);
        Assert.Equal(["v-1", "v-2"], after.Violations.Select(v => v.ViolationId));
    }

    [Fact]
    public void Entries_sharing_a_slot_each_decode_to_their_own_state()
    {
        // One slot: every entry collides with the one before it.
        var states = new DecodedStates(slots: 1);
        var a = Bytes(State(1, "a"));
        var b = Bytes(State(2, "b"));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("a", states.Decode(a)!.Violations.Single().ViolationId);
            Assert.Equal("b", states.Decode(b)!.Violations.Single().ViolationId);
        }
    }

    private static ScoreState State(long version, params string[] violationIds) =>
        new(version, "policy-1", violationIds.Select(id => new ScoredViolation(id, "spam", Severity.Medium, Occurred)).ToList());

    private static byte[] Bytes(ScoreState state) => JsonSerializer.SerializeToUtf8Bytes(state, ScoreStateJsonContext.Default.ScoreState);
}
