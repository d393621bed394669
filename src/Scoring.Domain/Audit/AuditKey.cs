using System.Security.Cryptography;
using System.Text;

namespace Scoring.Domain.Audit;

/// <summary>
/// A secret that chains audit entries with HMAC-SHA256, so that only a holder of the secret can write an
/// entry that verifies. Named by an id derived from the secret, stored on every entry it chains.
/// </summary>
public sealed class AuditKey
{
    /// <summary>The shortest secret accepted: the output size of SHA-256.</summary>
    public const int MinimumLength = 32;

    private readonly byte[] _secret;

    private AuditKey(byte[] secret)
    {
        _secret = secret;
        Id = IdOf(secret);
    }

    /// <summary>
    /// The first 8 bytes of SHA-256 of the secret, as 16 lower-case hex digits: names the key without
    /// revealing it, and cannot disagree with it (two different secrets never share an id by mistake).
    /// </summary>
    public string Id { get; }

    public static AuditKey FromBytes(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < MinimumLength)
        {
            throw new ArgumentException($"An audit key needs at least {MinimumLength} bytes; this one has {secret.Length}.", nameof(secret));
        }

        return new AuditKey(secret.ToArray());
    }

    /// <summary>Reads a key written as base64 (of at least <see cref="MinimumLength"/> bytes); false for anything else.</summary>
    public static bool TryFromBase64(string? text, out AuditKey key)
    {
        key = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var length) || length < MinimumLength)
        {
            return false;
        }

        key = new AuditKey(buffer[..length]);
        return true;
    }

    public static string IdOf(ReadOnlySpan<byte> secret) => Convert.ToHexStringLower(SHA256.HashData(secret)[..8]);

    /// <summary>HMAC-SHA256 of <paramref name="canonical"/> under this key, lower-case hex.</summary>
    internal string Sign(string canonical) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(canonical)));

    /// <summary>Never the secret.</summary>
    public override string ToString() => $"audit key {Id}";
}

/// <summary>
/// The keys an audit chain is checked with: the current one, which chains new entries, and the earlier
/// ones, kept so that entries chained before a rotation still verify.
/// </summary>
public sealed class AuditKeyring
{
    private readonly Dictionary<string, AuditKey> _keys = new(StringComparer.Ordinal);

    /// <param name="acceptUnkeyedChains">
    /// Whether a chain with no keyed entry at all (one written only before keys, with SHA-256) verifies.
    /// Such a chain proves nothing against a database writer, who can also rewrite a keyed chain into one,
    /// so this is for installs whose chains predate keys and is off by default.
    /// </param>
    public AuditKeyring(AuditKey current, IEnumerable<AuditKey>? previous = null, bool acceptUnkeyedChains = false)
    {
        Current = current;
        AcceptUnkeyedChains = acceptUnkeyedChains;
        _keys[current.Id] = current;
        foreach (var key in previous ?? [])
        {
            _keys.TryAdd(key.Id, key);
        }
    }

    /// <summary>The key new entries are chained with.</summary>
    public AuditKey Current { get; }

    public bool AcceptUnkeyedChains { get; }

    /// <summary>The key with this id, current or previous; null when none is configured.</summary>
    public AuditKey? Find(string keyId) => _keys.GetValueOrDefault(keyId);

    /// <summary>The same keys, accepting chains with no keyed entry: for checking a chain before sealing it.</summary>
    public AuditKeyring AcceptingUnkeyedChains() => new(Current, _keys.Values, acceptUnkeyedChains: true);
}
