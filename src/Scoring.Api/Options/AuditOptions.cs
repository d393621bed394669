using Microsoft.Extensions.Options;
using Scoring.Domain.Audit;

namespace Scoring.Api.Options;

/// <summary>The secret keys that chain the audit trail. See README, "The audit key".</summary>
public sealed class AuditOptions
{
    public const string SectionName = "Audit";

    /// <summary>
    /// The only key used when <see cref="ChainKey"/> is unset in the Development and Testing environments.
    /// Public by being in the source, so a chain under it proves nothing; anywhere else start-up refuses.
    /// </summary>
    public static readonly string DevelopmentKey = Convert.ToBase64String("scoring-DEVELOPMENT-ONLY-audit-key-NOT-SECRET"u8);

    /// <summary>The current key, base64 of at least 32 random bytes (<c>openssl rand -base64 32</c>); new entries are chained with it.</summary>
    public string? ChainKey { get; set; }

    /// <summary>
    /// Keys rotated out, by key id (the first 16 hex digits of the SHA-256 of the key's bytes, as stored in
    /// audit_entries.key_id); kept so entries chained under them still verify.
    /// </summary>
    public Dictionary<string, string> PreviousKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Whether a chain with no keyed entry (written only before keys) verifies. Off: such a chain proves nothing.</summary>
    public bool AcceptUnkeyedChains { get; set; }

    /// <summary>Whether the environment may run on <see cref="DevelopmentKey"/> when no key is configured.</summary>
    public static bool AllowsDevelopmentKey(IHostEnvironment environment) =>
        environment.IsDevelopment() || environment.IsEnvironment("Testing");

    /// <summary>The keyring these (validated) options describe.</summary>
    public AuditKeyring ToKeyring(IHostEnvironment environment)
    {
        var chainKey = string.IsNullOrWhiteSpace(ChainKey) && AllowsDevelopmentKey(environment) ? DevelopmentKey : ChainKey;
        if (!AuditKey.TryFromBase64(chainKey, out var current))
        {
            throw new InvalidOperationException("Audit options were not validated.");
        }

        var previous = PreviousKeys.Values.Select(value => AuditKey.TryFromBase64(value, out var key)
            ? key
            : throw new InvalidOperationException("Audit options were not validated."));
        return new AuditKeyring(current, previous, AcceptUnkeyedChains);
    }
}

/// <summary>Refuses start-up on a missing, short or malformed key, or a previous key filed under another key's id.</summary>
public sealed class AuditOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuditOptions>
{
    private const string KeyFormat = "base64 of at least 32 random bytes, e.g. from `openssl rand -base64 32`";

    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ChainKey))
        {
            if (!AuditOptions.AllowsDevelopmentKey(environment))
            {
                failures.Add($"Audit__ChainKey is not set: outside Development and Testing (this is {environment.EnvironmentName}) the audit chain needs a secret key, {KeyFormat}.");
            }
        }
        else if (!AuditKey.TryFromBase64(options.ChainKey, out _))
        {
            failures.Add($"Audit__ChainKey must be {KeyFormat}.");
        }

        foreach (var (id, value) in options.PreviousKeys)
        {
            if (!AuditKey.TryFromBase64(value, out var key))
            {
                failures.Add($"Audit__PreviousKeys__{id} must be {KeyFormat}.");
            }
            else if (key.Id != id)
            {
                failures.Add($"Audit__PreviousKeys__{id} holds the key whose id is {key.Id}: file each previous key under its own id.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
