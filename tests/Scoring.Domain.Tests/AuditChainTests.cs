using System.Security.Cryptography;
using System.Text;
using Scoring.Domain.Audit;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class AuditChainTests
{
    private static readonly AuditKey Key = KeyOf(1);
    private static readonly AuditKeyring Keyring = new(Key);

    private static AuditKey KeyOf(byte fill) => AuditKey.FromBytes(Enumerable.Repeat(fill, 32).ToArray());

    private static AuditChange ChangeAt(int i) =>
        new("rev-1", AuditActions.AppealDecided, $"a-{i}", "overturn", "in_review", "overturned", Severity.High, Severity.High, 40, 0);

    private static List<AuditEntry> Chain(int length, AuditKey? key = null, List<AuditEntry>? before = null)
    {
        var entries = before ?? [];
        for (var i = entries.Count; i < length; i++)
        {
            entries.Add(AuditEntry.Append(entries.LastOrDefault(), ChangeAt(i), $"id-{i}", "u-1", Now + TimeSpan.FromMinutes(i), key ?? Key));
        }

        return entries;
    }

    /// <summary>Writes a field of a stored entry as someone with write access to the database would.</summary>
    private static void Write(AuditEntry entry, string property, object? value) =>
        typeof(AuditEntry).GetProperty(property)!.SetValue(entry, value);

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Hmac(byte[] secret, string text) => Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(text)));

    /// <summary>Relinks every entry from <paramref name="from"/> on to its rewritten predecessor and rehashes it with <paramref name="hash"/>.</summary>
    private static void Rechain(List<AuditEntry> chain, int from, Func<AuditEntry, string> hash)
    {
        for (var i = from; i < chain.Count; i++)
        {
            Write(chain[i], nameof(AuditEntry.PreviousHash), i == 0 ? null : chain[i - 1].Hash);
            Write(chain[i], nameof(AuditEntry.Hash), hash(chain[i]));
        }
    }

    [Fact]
    public void An_untouched_chain_verifies()
    {
        var chain = Chain(5);

        Assert.Null(AuditChain.FirstBroken(chain, Keyring));
        Assert.Equal([1L, 2, 3, 4, 5], chain.Select(e => e.Sequence));
        Assert.Null(chain[0].PreviousHash);
        Assert.Equal(chain[2].Hash, chain[3].PreviousHash);
        Assert.Matches("^[0-9a-f]{64}$", chain[0].Hash);
        Assert.All(chain, e => Assert.Equal(Key.Id, e.KeyId));
    }

    [Fact]
    public void Entries_are_chained_with_HMAC_SHA256_under_the_key_over_a_versioned_encoding_that_names_the_key()
    {
        var secret = Enumerable.Repeat((byte)1, 32).ToArray();
        var entry = Chain(1)[0];

        Assert.StartsWith($"audit-v2|16:{Key.Id}|", entry.Canonical(), StringComparison.Ordinal);
        Assert.Equal(Hmac(secret, entry.Canonical()), entry.Hash);
        Assert.NotEqual(Sha256(entry.Canonical()), entry.Hash);
    }

    [Fact]
    public void A_key_id_is_the_first_eight_bytes_of_the_SHA_256_of_the_key()
    {
        var secret = Enumerable.Repeat((byte)1, 32).ToArray();

        Assert.Equal(Sha256Hex(secret)[..16], Key.Id);
        Assert.NotEqual(Key.Id, KeyOf(2).Id);
        Assert.Throws<ArgumentException>(() => AuditKey.FromBytes(new byte[31]));
        Assert.False(AuditKey.TryFromBase64(Convert.ToBase64String(new byte[31]), out _));
        Assert.False(AuditKey.TryFromBase64("not base64!", out _));
        Assert.True(AuditKey.TryFromBase64(Convert.ToBase64String(secret), out var parsed));
        Assert.Equal(Key.Id, parsed.Id);

        static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    [Fact]
    public void A_deleted_entry_breaks_the_chain_where_it_was()
    {
        var chain = Chain(5);
        chain.RemoveAt(2);

        Assert.Equal(3, AuditChain.FirstBroken(chain, Keyring));
    }

    [Fact]
    public void The_same_change_at_another_position_hashes_differently()
    {
        var change = new AuditChange("u-1", AuditActions.AppealSubmitted, "a-1", "user_appeal");
        var first = AuditEntry.Append(null, change, "id-1", "u-1", Now, Key);
        var second = AuditEntry.Append(first, change, "id-1", "u-1", Now, Key);

        Assert.NotEqual(first.Hash, second.Hash);
    }

    [Fact]
    public void An_edit_rechained_with_SHA_256_by_someone_without_the_key_is_found_at_the_edit()
    {
        var chain = Chain(6);
        Write(chain[2], nameof(AuditEntry.Reason), "uphold");
        Rechain(chain, 2, e => Sha256(e.Canonical()));

        var verified = AuditChain.Verify(chain, Keyring);

        Assert.Equal((3L, AuditChainBreak.Mismatch), (verified.FirstBrokenSequence, verified.Break));
    }

    [Fact]
    public void An_edit_rechained_with_HMAC_under_a_wrong_key_is_found_at_the_edit()
    {
        var chain = Chain(6);
        var guess = Enumerable.Repeat((byte)7, 32).ToArray();
        Write(chain[3], nameof(AuditEntry.AfterPoints), 0.0);
        Rechain(chain, 3, e => Hmac(guess, e.Canonical()));

        var verified = AuditChain.Verify(chain, Keyring);

        Assert.Equal((4L, AuditChainBreak.Mismatch), (verified.FirstBrokenSequence, verified.Break));
    }

    [Fact]
    public void An_edit_rechained_as_unkeyed_SHA_256_entries_is_found_at_the_first_downgraded_entry()
    {
        var chain = Chain(6);
        Write(chain[4], nameof(AuditEntry.Reason), "uphold");
        foreach (var entry in chain.Skip(4))
        {
            Write(entry, nameof(AuditEntry.KeyId), null);
        }

        Rechain(chain, 4, e => Sha256(e.Canonical()));

        var verified = AuditChain.Verify(chain, Keyring);

        Assert.Equal((5L, AuditChainBreak.Unkeyed), (verified.FirstBrokenSequence, verified.Break));
    }

    [Fact]
    public void A_whole_chain_rewritten_as_unkeyed_SHA_256_entries_is_broken_unless_unkeyed_chains_are_accepted()
    {
        var chain = Chain(4);
        Write(chain[1], nameof(AuditEntry.Reason), "uphold");
        chain.ForEach(e => Write(e, nameof(AuditEntry.KeyId), null));
        Rechain(chain, 0, e => Sha256(e.Canonical()));

        var verified = AuditChain.Verify(chain, Keyring);

        Assert.Equal((1L, AuditChainBreak.Unkeyed), (verified.FirstBrokenSequence, verified.Break));
        Assert.Null(AuditChain.FirstBroken(chain, new AuditKeyring(Key, acceptUnkeyedChains: true)));
    }

    [Fact]
    public void A_forged_key_id_with_a_matching_HMAC_under_the_forgers_key_is_reported_as_an_unknown_key()
    {
        var chain = Chain(3);
        var forger = KeyOf(9);
        Write(chain[1], nameof(AuditEntry.Reason), "uphold");
        Write(chain[1], nameof(AuditEntry.KeyId), forger.Id);
        Write(chain[2], nameof(AuditEntry.KeyId), forger.Id);
        Rechain(chain, 1, e => Hmac(Enumerable.Repeat((byte)9, 32).ToArray(), e.Canonical()));

        var verified = AuditChain.Verify(chain, Keyring);

        Assert.Equal((2L, AuditChainBreak.UnknownKey, forger.Id), (verified.FirstBrokenSequence, verified.Break, verified.UnknownKeyId));
    }

    [Fact]
    public void After_a_rotation_entries_under_the_old_key_verify_while_it_is_configured_and_break_without_it()
    {
        var old = KeyOf(1);
        var current = KeyOf(2);
        var chain = Chain(6, current, Chain(3, old));

        Assert.Equal([old.Id, old.Id, old.Id, current.Id, current.Id, current.Id], chain.Select(e => e.KeyId));
        Assert.Null(AuditChain.FirstBroken(chain, new AuditKeyring(current, [old])));

        var withoutOld = AuditChain.Verify(chain, new AuditKeyring(current));
        Assert.Equal((1L, AuditChainBreak.UnknownKey, old.Id), (withoutOld.FirstBrokenSequence, withoutOld.Break, withoutOld.UnknownKeyId));
    }

    /// <summary>An entry written before keys, with the hash the SHA-256 code of that time stored for it.</summary>
    private static AuditEntry LegacyEntry()
    {
        var entry = AuditEntry.Append(null, ChangeAt(0), "id-0", "u-1", Now, Key);
        Write(entry, nameof(AuditEntry.KeyId), null);
        Write(entry, nameof(AuditEntry.Hash), "23c49e5a28b4791715170661974f1bc063d538034a7948741006ccf347db57eb");
        return entry;
    }

    [Fact]
    public void Legacy_unkeyed_entries_keep_their_SHA_256_encoding_and_verify_before_keyed_entries()
    {
        var chain = Chain(4, Key, [LegacyEntry()]);

        Assert.StartsWith("audit-v1|0:|4:id-0|", chain[0].Canonical(), StringComparison.Ordinal);
        Assert.Null(AuditChain.FirstBroken(chain, Keyring));
        Assert.Null(AuditChain.FirstBroken([LegacyEntry()], new AuditKeyring(Key, acceptUnkeyedChains: true)));
    }

    [Fact]
    public void An_edited_legacy_entry_is_found_through_the_keyed_entry_after_it()
    {
        var chain = Chain(4, Key, [LegacyEntry()]);
        Write(chain[0], nameof(AuditEntry.Reason), "uphold");
        Rechain(chain, 0, e => e.KeyId is null ? Sha256(e.Canonical()) : e.Hash);

        // Alone, the rewritten unkeyed entry passes: only the keyed entry after it, which covers its hash, catches the edit.
        Assert.Null(AuditChain.FirstBroken(chain.Take(1), new AuditKeyring(Key, acceptUnkeyedChains: true)));
        Assert.Equal(2, AuditChain.FirstBroken(chain, Keyring));
    }
}
