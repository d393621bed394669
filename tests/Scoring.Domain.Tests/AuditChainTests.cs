using Scoring.Domain.Audit;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class AuditChainTests
{
    private static List<AuditEntry> Chain(int length)
    {
        var entries = new List<AuditEntry>();
        for (var i = 0; i < length; i++)
        {
            var change = new AuditChange("rev-1", AuditActions.AppealDecided, $"a-{i}", "overturn", "in_review", "overturned", Severity.High, Severity.High, 40, 0);
            entries.Add(AuditEntry.Append(entries.LastOrDefault(), change, $"id-{i}", "u-1", Now + TimeSpan.FromMinutes(i)));
        }

        return entries;
    }

    [Fact]
    public void An_untouched_chain_verifies()
    {
        var chain = Chain(5);

        Assert.Null(AuditChain.FirstBroken(chain));
        Assert.Equal([1L, 2, 3, 4, 5], chain.Select(e => e.Sequence));
        Assert.Null(chain[0].PreviousHash);
        Assert.Equal(chain[2].Hash, chain[3].PreviousHash);
        Assert.Matches("^[0-9a-f]{64}$", chain[0].Hash);
    }

    [Fact]
    public void A_deleted_entry_breaks_the_chain_where_it_was()
    {
        var chain = Chain(5);
        chain.RemoveAt(2);

        Assert.Equal(3, AuditChain.FirstBroken(chain));
    }

    [Fact]
    public void The_same_change_at_another_position_hashes_differently()
    {
        var change = new AuditChange("u-1", AuditActions.AppealSubmitted, "a-1", "user_appeal");
        var first = AuditEntry.Append(null, change, "id-1", "u-1", Now);
        var second = AuditEntry.Append(first, change, "id-1", "u-1", Now);

        Assert.NotEqual(first.Hash, second.Hash);
    }
}
