using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
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

    [Fact]
    public void Nothing_decoded_is_kept_longer_than_a_minute()
    {
        var time = new FakeTimeProvider();
        var states = new DecodedStates(time: time);
        var entry = Bytes(State(7, "v-1"));
        var first = states.Decode(entry);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Same(first, states.Decode(entry));

        time.Advance(TimeSpan.FromSeconds(2));
        var later = states.Decode(entry);
        Assert.NotSame(first, later);
        Assert.Equal(7, later!.Version);
    }

    [Fact]
    public void An_entry_over_the_size_limit_is_parsed_every_time()
    {
        var states = new DecodedStates();
        var large = Bytes(State(3, [.. Enumerable.Range(0, 400).Select(i => $"violation-{i:D4}")]));
        Assert.True(large.Length > DecodedStates.MaxBytes);

        var first = states.Decode(large);
        var again = states.Decode(large);

        Assert.NotSame(first, again);
        Assert.Equal(400, again!.Violations.Count);
    }

    private static ScoreState State(long version, params string[] violationIds) =>
        new(version, "policy-1", violationIds.Select(id => new ScoredViolation(id, "spam", Severity.Medium, Occurred)).ToList());

    private static byte[] Bytes(ScoreState state) => JsonSerializer.SerializeToUtf8Bytes(state, ScoreStateJsonContext.Default.ScoreState);
}
