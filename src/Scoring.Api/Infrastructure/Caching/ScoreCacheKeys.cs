using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Redis keys never carry the user id itself, only a SHA-256 of it, so nothing readable about a user is
/// left in key space (after an erasure, not even the pseudonym). The hash is the cluster hash tag, so
/// everything of one user lives in one slot.
/// </summary>
public static class ScoreCacheKeys
{
    // v2 since versions became monotonic across erasures: a v1 entry of a user erased by an older release
    // may hold a version above the ones the user's new lock row starts from, and would refuse them.
    public static RedisKey Entry(string userId) => $"scoring:v2:score:{{{Tag(userId)}}}";

    /// <summary>The user's hash: the part of every key, and of every change notice, that names the user.</summary>
    public static string Tag(string userId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)));
}
