using System.Security.Cryptography;
using System.Text;
using Scoring.Api.Infrastructure.Caching;

namespace Scoring.Api.Tests.Scoring;

/// <summary>The cache's key names no user, and stays the same across releases (entries outlive a deploy).</summary>
public sealed class ScoreCacheKeysTests
{
    [Theory]
    [InlineData("u-1")]
    [InlineData("ü-ñ-😀")]
    [InlineData("a-user-id-of-one-hundred-and-twenty-eight-characters-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public void An_entry_is_keyed_by_the_SHA_256_of_the_user_id_as_its_cluster_hash_tag(string userId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)));

        Assert.Equal($"scoring:v2:score:{{{hash}}}", ScoreCacheKeys.Entry(userId).ToString());
        Assert.Equal(hash, ScoreCacheKeys.Tag(userId));
        Assert.DoesNotContain(userId, ScoreCacheKeys.Entry(userId).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_id_too_long_for_the_stack_is_hashed_the_same_way()
    {
        var userId = new string('x', 5000);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId))), ScoreCacheKeys.Tag(userId));
    }
}
