using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Scoring.Domain.Policies;

/// <summary>Where a policy version is in its life. Values match the public contract.</summary>
public enum PolicyVersionState
{
    Unspecified = 0,

    /// <summary>Editable; not yet usable.</summary>
    Draft = 1,

    /// <summary>Validated and frozen: it can be simulated and activated.</summary>
    Published = 2,

    /// <summary>The version scores are computed under. Exactly one is active.</summary>
    Active = 3,

    /// <summary>Was active once; can be activated again (a rollback).</summary>
    Retired = 4,
}

/// <summary>
/// One version of the scoring policy: a draft while it is edited, then published (validated and frozen,
/// identified by its version string and the SHA-256 of its canonical form), active, and retired when
/// another takes its place. Methods refuse illegal transitions with a <see cref="DomainException"/>.
/// </summary>
public sealed class PolicyVersion
{
    // For EF Core materialisation.
    private PolicyVersion()
    {
    }

    public string Version { get; private set; } = null!;
    public PolicyVersionState State { get; private set; }
    public string Description { get; private set; } = "";
    public string Author { get; private set; } = null!;

    /// <summary>The policy in its canonical form (<see cref="PolicyCanonicalForm"/>).</summary>
    public string Document { get; private set; } = null!;

    /// <summary>Lower-case hex SHA-256 of the policy's rules in canonical form (<see cref="PolicyCanonicalForm.Hash(ScoringPolicy)"/>): the same rules, the same hash, whatever the version is called.</summary>
    public string ContentHash { get; private set; } = null!;

    public DateTimeOffset CreatedAt { get; private set; }
    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>
    /// Counts the changes of this version (content or state): the etag a client sends back so that a change
    /// made on a version it has not seen is refused, and the token that makes two concurrent saves conflict.
    /// </summary>
    public long Revision { get; private set; }
    public DateTimeOffset? PublishedAt { get; private set; }
    public DateTimeOffset? ActivatedAt { get; private set; }
    public DateTimeOffset? RetiredAt { get; private set; }

    /// <summary>A new draft. The policy must be valid: a draft is always one publish away from usable.</summary>
    public static PolicyVersion Draft(ScoringPolicy policy, string description, string author, DateTimeOffset now)
    {
        RequireValid(policy);
        var at = Instants.ToMicroseconds(now);
        var version = new PolicyVersion
        {
            Version = policy.Version,
            State = PolicyVersionState.Draft,
            Author = author,
            CreatedAt = at,
        };
        version.SetContent(policy, description, at);
        return version;
    }

    /// <summary>The running policy recorded as the first version, active from the start (an upgrade changes no score).</summary>
    public static PolicyVersion Bootstrap(ScoringPolicy policy, string author, DateTimeOffset now)
    {
        var version = Draft(policy, "the policy the service started with", author, now);
        version.Publish(now);
        version.Activate(now);
        return version;
    }

    /// <summary>Replaces a draft's content. The version string stays: it names the draft.</summary>
    public void Update(ScoringPolicy policy, string description, DateTimeOffset now)
    {
        if (State != PolicyVersionState.Draft)
        {
            throw new DomainException($"policy version '{Version}' is {Describe(State)}; only a draft can change");
        }

        if (policy.Version != Version)
        {
            throw new DomainException($"a draft keeps its version string: '{Version}', not '{policy.Version}'");
        }

        RequireValid(policy);
        SetContent(policy, description, Instants.ToMicroseconds(now));
    }

    /// <summary>The etag of this version as it is now: a client that read it sends it back with a change.</summary>
    public string ETag => Revision.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Refuses a change made on a version the caller has not seen as it is now (an empty etag means "whatever it is").</summary>
    public void RequireETag(string? etag)
    {
        if (!string.IsNullOrEmpty(etag) && etag != ETag)
        {
            throw new StaleVersionException($"policy version '{Version}' changed since it was read (etag {etag}, now {ETag}); read it again");
        }
    }

    /// <summary>Freezes a draft: from now on its content and hash never change.</summary>
    public void Publish(DateTimeOffset now)
    {
        if (State != PolicyVersionState.Draft)
        {
            throw new DomainException($"policy version '{Version}' is {Describe(State)}; only a draft can be published");
        }

        State = PolicyVersionState.Published;
        PublishedAt = UpdatedAt = Instants.ToMicroseconds(now);
        Revision++;
    }

    /// <summary>Makes a published (or retired) version the one scores are computed under.</summary>
    public void Activate(DateTimeOffset now)
    {
        RequireActivatable();
        State = PolicyVersionState.Active;
        ActivatedAt = UpdatedAt = Instants.ToMicroseconds(now);
        Revision++;
    }

    /// <summary>Refuses a version that cannot be activated, before anything else changes for its activation.</summary>
    public void RequireActivatable()
    {
        if (State is not (PolicyVersionState.Published or PolicyVersionState.Retired))
        {
            throw new DomainException($"policy version '{Version}' is {Describe(State)}; only a published or retired version can be activated");
        }
    }

    /// <summary>Another version took its place.</summary>
    public void Retire(DateTimeOffset now)
    {
        if (State != PolicyVersionState.Active)
        {
            throw new DomainException($"policy version '{Version}' is {Describe(State)}; only the active version can be retired");
        }

        State = PolicyVersionState.Retired;
        RetiredAt = UpdatedAt = Instants.ToMicroseconds(now);
        Revision++;
    }

    private void SetContent(ScoringPolicy policy, string description, DateTimeOffset at)
    {
        Revision++;
        Document = PolicyCanonicalForm.Write(policy);
        ContentHash = PolicyCanonicalForm.Hash(policy);
        Description = description;
        UpdatedAt = at;
    }

    private static void RequireValid(ScoringPolicy policy)
    {
        if (policy.Validate() is { Count: > 0 } problems)
        {
            throw new InvalidPolicyContentException(problems);
        }
    }

    private static string Describe(PolicyVersionState state) => state.ToString().ToUpperInvariant();
}

/// <summary>A change was made on a version as it no longer is.</summary>
public sealed class StaleVersionException(string message) : Exception(message);

/// <summary>A policy's content breaks its rules; each problem names its field.</summary>
public sealed class InvalidPolicyContentException(IReadOnlyList<PolicyProblem> problems)
    : DomainException($"the policy is invalid: {string.Join("; ", problems)}")
{
    public IReadOnlyList<PolicyProblem> Problems { get; } = problems;
}

/// <summary>
/// The canonical form of a policy: JSON with the fields in a fixed order, categories sorted by name (ordinal),
/// numbers in .NET's shortest round-trip form (<c>1E+21</c>, not RFC 8785's <c>1e+21</c>) and durations as
/// <c>d.hh:mm:ss.fffffff</c> (100-ns precision). The hash covers the rules only, not the version string, so
/// two versions with the same rules have the same hash whatever order their files listed the categories in.
/// The DSA mapping (a category's <c>dsa_category</c>, <c>source_types</c> sorted by source) is written only
/// when set, so a policy without it keeps the hash it had before the mapping existed.
/// Changing this form changes every hash: a golden test pins it.
/// </summary>
public static class PolicyCanonicalForm
{
    /// <summary>The stored document: the canonical form with the version string.</summary>
    public static string Write(ScoringPolicy policy) => Write(policy, includeVersion: true);

    private static string Write(ScoringPolicy policy, bool includeVersion)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (includeVersion)
            {
                json.WriteString("version", policy.Version);
            }

            json.WriteStartObject("severity_points");
            json.WriteNumber("low", policy.SeverityPoints.Low);
            json.WriteNumber("medium", policy.SeverityPoints.Medium);
            json.WriteNumber("high", policy.SeverityPoints.High);
            json.WriteNumber("critical", policy.SeverityPoints.Critical);
            json.WriteEndObject();
            json.WriteStartArray("categories");
            foreach (var category in policy.Categories.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("name", category.Name);
                json.WriteNumber("weight", category.Weight);
                json.WriteString("half_life", Duration(category.HalfLife));
                json.WriteBoolean("zero_tolerance", category.ZeroTolerance);
                // Written only when set: policies without it keep the hash they always had.
                if (!string.IsNullOrEmpty(category.DsaCategory))
                {
                    json.WriteString("dsa_category", category.DsaCategory);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("thresholds");
            json.WriteNumber("warned", policy.Thresholds.Warned);
            json.WriteNumber("restricted", policy.Thresholds.Restricted);
            json.WriteNumber("suspended", policy.Thresholds.Suspended);
            json.WriteNumber("banned", policy.Thresholds.Banned);
            json.WriteEndObject();
            json.WriteString("max_age", Duration(policy.MaxAge));
            json.WriteString("appeal_window", Duration(policy.AppealWindow));
            json.WriteString("review_sla", Duration(policy.ReviewSla));
            if (policy.SourceTypes is { Count: > 0 } sourceTypes)
            {
                json.WriteStartObject("source_types");
                foreach (var (source, type) in sourceTypes.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    json.WriteString(source, type);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Lower-case hex SHA-256 of the rules' canonical form (without the version string).</summary>
    public static string Hash(ScoringPolicy policy) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Write(policy, includeVersion: false))));

    private static string Duration(TimeSpan span) => span.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
}
