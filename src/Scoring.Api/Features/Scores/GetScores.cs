using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Scores;

/// <summary>Many users' scores in request order: one cache round trip, one database query for the misses.</summary>
public sealed record GetScoresQuery(IReadOnlyList<string> UserIds) : IQuery<Score[]>
{
    public const int MaxUsers = 1000;
}

public sealed class GetScoresQueryValidator : AbstractValidator<GetScoresQuery>
{
    public GetScoresQueryValidator()
    {
        RuleFor(q => q.UserIds)
            .NotEmpty().WithMessage("{PropertyName} must hold at least one user id")
            .Must(ids => ids.Count <= GetScoresQuery.MaxUsers).WithMessage($"{{PropertyName}} may hold at most {GetScoresQuery.MaxUsers} user ids");
        RuleForEach(q => q.UserIds).UserId();
    }
}

public sealed class GetScoresQueryHandler(ScoreReader scores) : IQueryHandler<GetScoresQuery, Score[]>
{
    public ValueTask<Score[]> Handle(GetScoresQuery query, CancellationToken cancellationToken) =>
        scores.GetManyAsync(query.UserIds, includeBreakdown: false, cancellationToken);
}
