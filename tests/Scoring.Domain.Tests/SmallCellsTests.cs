using CsCheck;
using Scoring.Domain.Reports;

namespace Scoring.Domain.Tests;

public class SmallCellsTests
{
    [Fact]
    public void A_count_below_the_minimum_is_suppressed_and_the_others_are_published_as_they_are()
    {
        var (total, parts) = SmallCells.Suppress(130, [50, 45, 30, 5], minimum: 10);

        // 5 alone would be 130 − 50 − 45 − 30: the smallest other part goes too.
        Assert.Equal([50, 45, null, null], parts.Select(p => p.Value));
        Assert.Equal(130, total.Value);
    }

    [Fact]
    public void Suppressed_parts_that_together_stay_below_the_minimum_take_another_part_with_them()
    {
        var (_, parts) = SmallCells.Suppress(73, [3, 4, 30, 36], minimum: 10);

        // 3 + 4 = 7 would be recoverable as a pair; with 30 hidden too, only "37 between them" is.
        Assert.Equal([null, null, null, 36], parts.Select(p => p.Value));
    }

    [Fact]
    public void A_total_below_the_minimum_is_suppressed_and_a_lone_part_equal_to_its_total_goes_with_it()
    {
        Assert.Equal("suppressed: suppressed suppressed", Shown(SmallCells.Suppress(7, [3, 4], minimum: 10)));
        Assert.Equal("suppressed: suppressed", Shown(SmallCells.Suppress(12, [12], minimum: 20)));
        Assert.Equal("12: 12", Shown(SmallCells.Suppress(12, [12], minimum: 10)));
        // The 0 alone would be 12 − 12: the 12 goes too, and the total only says the two make 12.
        Assert.Equal("12: suppressed suppressed", Shown(SmallCells.Suppress(12, [12, 0], minimum: 10)));
    }

    [Fact]
    public void Nothing_published_is_below_the_minimum_and_no_suppressed_part_can_be_recovered_by_subtraction()
    {
        Gen.Select(Gen.Long[0, 40].Array[1, 8], Gen.Long[0, 15]).Sample((counts, minimum) =>
        {
            var (total, parts) = SmallCells.Suppress(counts.Sum(), counts, minimum);

            Assert.All(parts.Where(p => !p.Suppressed), p => Assert.True(p.Value >= minimum));
            Assert.True(total.Suppressed || total.Value >= minimum);
            Assert.All(parts.Select((p, i) => (p, i)).Where(x => !x.p.Suppressed), x => Assert.Equal(counts[x.i], x.p.Value));
            if (!total.Suppressed)
            {
                var hidden = parts.Select((p, i) => (p, i)).Where(x => x.p.Suppressed).Select(x => counts[x.i]).ToArray();
                Assert.True(hidden.Length != 1, "a single suppressed part next to a published total is the total minus the rest");
                Assert.True(hidden.Length == 0 || hidden.Sum() >= minimum, "suppressed parts adding up to less than the minimum");
            }
        });
    }

    private static string Shown((ReportedCount Total, ReportedCount[] Parts) report) => $"{report.Total}: {string.Join(' ', report.Parts)}";
}
