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
    public static RedisKey Entry(string userId)
    {
        // On every cache read: hashed on the stack, one string for the whole key.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(userId, hash);
        return string.Create(EntryPrefix.Length + 2 * SHA256.HashSizeInBytes + 2, hash, static (key, hash) =>
        {
            EntryPrefix.CopyTo(key);
            key[EntryPrefix.Length] = '{';
            Convert.TryToHexStringLower(hash, key[(EntryPrefix.Length + 1)..], out _);
            key[^1] = '}';
        });
    }

    /// <summary>The user's hash: the part of every key, and of every change notice, that names the user.</summary>
    public static string Tag(string userId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(userId, hash);
        return Convert.ToHexStringLower(hash);
    }

    private const string EntryPrefix = "scoring:v2:score:";

    private static void Hash(string userId, Span<byte> hash)
    {
        // User ids are short (validated to at most 128 characters); a longer one is hashed from the heap.
        var length = Encoding.UTF8.GetMaxByteCount(userId.Length);
        Span<byte> utf8 = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var written = Encoding.UTF8.GetBytes(userId, utf8);
        SHA256.HashData(utf8[..written], hash);
    }
}
