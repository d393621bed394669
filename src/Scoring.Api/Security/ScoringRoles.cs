using System.Security.Claims;

namespace Scoring.Api.Security;

/// <summary>The roles a token can carry, in its <c>roles</c> claim or its <c>scope</c>.</summary>
public static class ScoringRoles
{
    public const string Reader = "scoring.reader";
    public const string Writer = "scoring.writer";
    public const string Reviewer = "scoring.reviewer";
    public const string Admin = "scoring.admin";

    /// <summary>Runs transparency reports, and nothing else.</summary>
    public const string Auditor = "scoring.auditor";

    /// <summary>The caller's roles, from <c>roles</c> claims (one per role) or space-separated <c>scope</c>/<c>scp</c>.</summary>
    public static HashSet<string> Of(ClaimsPrincipal user)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in user.Claims)
        {
            switch (claim.Type)
            {
                case "roles" or "role" or ClaimTypes.Role:
                    roles.Add(claim.Value);
                    break;
                case "scope" or "scp":
                    roles.UnionWith(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                    break;
            }
        }

        return roles;
    }
}

/// <summary>
/// Which roles may call what. Every RPC names one of these policies; an RPC that names none falls to the
/// fallback policy, which denies everyone.
/// </summary>
public static class ScoringPolicies
{
    /// <summary>GetScore(s), GetPolicy: every role.</summary>
    public const string Read = "scoring.read";

    /// <summary>RecordViolation(s), SubmitAppeal, WithdrawAppeal: platform services.</summary>
    public const string Write = "scoring.write";

    /// <summary>Listings, appeal review and the audit list: trust-and-safety staff.</summary>
    public const string Review = "scoring.review";

    /// <summary>Chain verification and the privacy calls.</summary>
    public const string Admin = "scoring.admin";

    /// <summary>Transparency reports: administrators and auditors (who may call nothing else).</summary>
    public const string Reports = "scoring.reports";

    public static readonly IReadOnlyDictionary<string, string[]> RolesByPolicy = new Dictionary<string, string[]>
    {
        [Read] = [ScoringRoles.Reader, ScoringRoles.Writer, ScoringRoles.Reviewer, ScoringRoles.Admin],
        [Write] = [ScoringRoles.Writer, ScoringRoles.Admin],
        [Review] = [ScoringRoles.Reviewer, ScoringRoles.Admin],
        [Admin] = [ScoringRoles.Admin],
        [Reports] = [ScoringRoles.Auditor, ScoringRoles.Admin],
    };
}
