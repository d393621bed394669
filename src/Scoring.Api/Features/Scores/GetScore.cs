using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Scores;

/// <summary>One user's score now; served from the cache when it holds the user.</summary>
public sealed record GetScoreQuery(string UserId, bool IncludeBreakdown) : IQuery<Score>;

public sealed class GetScoreQueryValidator : AbstractValidator<GetScoreQuery>
{
    public GetScoreQueryValidator() => RuleFor(q => q.UserId).UserId();
}

public sealed class GetScoreQueryHandler(ScoreReader scores) : IQueryHandler<GetScoreQuery, Score>
{
    public ValueTask<Score> Handle(GetScoreQuery query, CancellationToken cancellationToken) =>
        scores.GetAsync(query.UserId, query.IncludeBreakdown, cancellationToken);
}
