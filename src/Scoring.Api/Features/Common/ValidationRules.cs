using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using FluentValidation;

namespace Scoring.Api.Features.Common;

/// <summary>Field rules shared by several requests, so one identifier is checked the same way everywhere.</summary>
public static partial class ValidationRules
{
    public const int MaxUserIdLength = 128;

    // Member names come from the code, so this holds a few dozen entries at most.
    private static readonly ConcurrentDictionary<MemberInfo, string> ProtoNames = new();

    [GeneratedRegex(@"^[^\s\p{Cc}]+$")]
    private static partial Regex NoWhitespaceOrControl();

    /// <summary>An opaque user pseudonym: 1-128 characters, no whitespace or control characters.</summary>
    public static IRuleBuilderOptions<T, string> UserId<T>(this IRuleBuilder<T, string> rule) => rule.Identifier(MaxUserIdLength);

    /// <summary>An id (user, reviewer, violation, appeal): required, bounded, no whitespace or control characters.</summary>
    public static IRuleBuilderOptions<T, string> Identifier<T>(this IRuleBuilder<T, string> rule, int maxLength) =>
        rule.NotEmpty().WithMessage("{PropertyName} is required")
            .MaximumLength(maxLength).WithMessage($"{{PropertyName}} must be at most {maxLength} characters")
            .Matches(NoWhitespaceOrControl()).WithMessage("{PropertyName} must not contain whitespace or control characters");

    /// <summary>Free text a person writes: 1 to <paramref name="maxLength"/> characters, not only whitespace.</summary>
    public static IRuleBuilderOptions<T, string> Text<T>(this IRuleBuilder<T, string> rule, int maxLength) =>
        rule.Must(text => !string.IsNullOrWhiteSpace(text)).WithMessage("{PropertyName} is required")
            .MaximumLength(maxLength).WithMessage($"{{PropertyName}} must be at most {maxLength} characters");

    /// <summary>At most this many users in one filter of the feed of standing changes.</summary>
    public const int MaxUserFilter = 1000;

    /// <summary>A revision of the feed of standing changes, as the feed gave it (empty is allowed: "from the start" or "from now").</summary>
    public static IRuleBuilderOptions<T, string?> Revision<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(text => string.IsNullOrEmpty(text) || Infrastructure.Persistence.Revision.TryParse(text, out _))
            .WithMessage("{PropertyName} is not a revision this service gave (32 hexadecimal digits)");

    /// <summary>A filter of users: empty (everyone) or at most <see cref="MaxUserFilter"/> ids.</summary>
    public static IRuleBuilderOptions<T, IReadOnlyList<string>> UserFilter<T>(this IRuleBuilder<T, IReadOnlyList<string>> rule) =>
        rule.Must(ids => ids.Count <= MaxUserFilter).WithMessage($"{{PropertyName}} may hold at most {MaxUserFilter} user ids");

    /// <summary>A report boundary: required, and a UTC midnight (reports count whole days).</summary>
    public static IRuleBuilderOptions<T, DateTimeOffset?> ReportDay<T>(this IRuleBuilder<T, DateTimeOffset?> rule) =>
        rule.NotNull().WithMessage("{PropertyName} is required")
            .Must(at => at > DateTimeOffset.UnixEpoch && at < new DateTimeOffset(9000, 1, 1, 0, 0, 0, TimeSpan.Zero)).WithMessage("{PropertyName} must be a date between 1970 and 9000")
            .Must(at => Domain.Reports.ReportPeriod.IsWholeDay(at!.Value)).WithMessage("{PropertyName} must be a UTC midnight: reports count whole days");

    /// <summary>A report's end: a <see cref="ReportDay{T}"/> after the start, and at most ten years on.</summary>
    public static IRuleBuilderOptions<T, DateTimeOffset?> ReportPeriodEnd<T>(this IRuleBuilder<T, DateTimeOffset?> rule, Func<T, DateTimeOffset?> start) =>
        rule.ReportDay()
            .Must((request, end) => start(request) is not { } from || end > from).WithMessage("{PropertyName} must be after period_start")
            .Must((request, end) => start(request) is not { } from || end - from <= Domain.Reports.ReportPeriod.Longest)
            .WithMessage("{PropertyName} must be at most ten years after period_start");

    /// <summary>A member's proto name, converted once: validation asks for it on every call, valid or not.</summary>
    public static string ProtoNameOf(MemberInfo member) => ProtoNames.GetOrAdd(member, static m => ToSnakeCase(m.Name));

    /// <summary>Reports fields by their proto names (user_id, violations[2].event_id), which is what clients see.</summary>
    public static string ToSnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] is not ('.' or '['))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
