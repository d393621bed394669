using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Security;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>What the policy version use cases share: the content rule as request validation, lookups, the author.</summary>
internal static class PolicyVersionRules
{
    public const int MaxDescriptionLength = 2000;

    /// <summary>Why a version is activated: kept on the audit chain.</summary>
    public const int MaxReasonLength = Domain.Audit.AuditChange.MaxReasonLength;

    /// <summary>A version string, by the domain's rule.</summary>
    public static IRuleBuilderOptions<T, string?> VersionName<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(PolicyRules.IsVersionName).WithMessage("{PropertyName} " + PolicyRules.VersionRule);

    /// <summary>
    /// The policy's own rules (the domain's, one place), each problem reported at its field path under
    /// <paramref name="prefix"/>: <c>policy.categories[3].half_life</c>.
    /// </summary>
    public static void ValidContent<T>(this IRuleBuilder<T, ScoringPolicy?> rule, string prefix) =>
        rule.Custom((policy, context) =>
        {
            if (policy is null)
            {
                return;
            }

            foreach (var problem in policy.Validate())
            {
                context.AddFailure($"{prefix}.{problem.Field}", $"{prefix}.{problem.Field} {problem.Description}");
            }
        });

    public static async Task<PolicyVersion> FindVersionAsync(this ScoringDbContext db, string version, bool tracked, CancellationToken cancellationToken)
    {
        var versions = tracked ? db.PolicyVersions : db.PolicyVersions.AsNoTracking();
        return await versions.SingleOrDefaultAsync(v => v.Version == version, cancellationToken)
            ?? throw new NotFoundException($"policy version '{version}' was not found");
    }

    /// <summary>The policy a stored version holds, as written (checked against the rules only where it matters: publishing).</summary>
    public static ScoringPolicy Content(this PolicyVersion version) => PolicyFile.Read(version.Document, $"version {version.Version}");

    /// <summary>Who acts: the token's subject, else its client, else (no authentication) anonymous; at most the column's 128 characters.</summary>
    public static string Author(this Caller caller) => (caller.Subject ?? caller.ClientId ?? "anonymous") is var author && author.Length > 128 ? author[..128] : author;

    /// <summary>Saves, turning a lost race into a conflict the caller can retry after reading again.</summary>
    public static async Task SaveVersionAsync(this ScoringDbContext db, string version, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw new AbortedException($"policy version '{version}' changed meanwhile; read it again");
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsAuditSequenceTaken(exception))
        {
            throw new AbortedException($"another change of the policy versions was audited at the same moment; try again");
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            throw new ConflictException($"policy version '{version}' already exists");
        }
    }
}
