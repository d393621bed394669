using FluentValidation;
using Severity = Scoring.Domain.Severity;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Appeals;
using Scoring.Api.Options;
using Scoring.Domain;
using Scoring.Domain.Appeals;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Console.Pages;

/// <summary>One appeal with everything about it, and the decision form.</summary>
public sealed class AppealModel(ISender sender, ScoringPolicy policy, TimeProvider timeProvider, IOptions<ConsoleOptions> options) : ConsolePageModel
{
    public ScoringPolicy Policy => policy;

    [BindProperty(SupportsGet = true)]
    public string AppealId { get; set; } = "";

    [BindProperty]
    public AppealDecision Decision { get; set; }

    [BindProperty]
    public Severity NewSeverity { get; set; }

    [BindProperty]
    public string Rationale { get; set; } = "";

    public Appeal Appeal { get; private set; } = null!;

    public Violation Violation { get; private set; } = null!;

    public UserRecord Record { get; private set; } = null!;

    public DateTimeOffset Now { get; private set; }

    /// <summary>Each decision the form offers, with the score it would leave: key (uphold, overturn, reduce-low…), label, score.</summary>
    public IReadOnlyList<(string Key, string Label, Score After)> Previews { get; private set; } = [];

    public IReadOnlyList<Severity> Reductions { get; private set; } = [];

    public IReadOnlyList<string> Templates => options.Value.RationaleTemplates;

    /// <summary>Why this reviewer cannot decide the appeal (the domain's rule).</summary>
    public DecisionBar Bar { get; private set; }

    /// <summary>Why this reviewer cannot decide the appeal, in words; null when they can.</summary>
    public string? Blocked { get; private set; }

    /// <summary>A decision that failed: what happened instead (another reviewer decided first, a reassignment); shown once after the redirect.</summary>
    [TempData]
    public string? Outcome { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        return Page();
    }

    /// <summary>Decide, then stay on the appeal or (<paramref name="next"/>) take the next one.</summary>
    public async Task<IActionResult> OnPostDecideAsync(bool next, CancellationToken cancellationToken)
    {
        if (Decision == AppealDecision.Unspecified)
        {
            ModelState.AddModelError(nameof(Decision), "Choose uphold, overturn or reduce.");
            await LoadAsync(cancellationToken);
            return Page();
        }

        try
        {
            var decided = await sender.Send(
                new DecideAppealCommand(AppealId, Reviewer, Decision, Decision == AppealDecision.Reduce ? NewSeverity : Severity.Unspecified, Rationale ?? ""),
                cancellationToken);
            var what = $"Appeal {decided.Appeal.Id} {Display.Name(decided.Appeal.State)}; the user is now {Display.Name(decided.Score.Standing)} ({Display.Points(decided.Score.Points)} points).";
            if (!next)
            {
                Notice = what;
                return Redirect(AppealUrl());
            }

            var claimed = await sender.Send(new ClaimNextAppealCommand(Reviewer), cancellationToken);
            Notice = claimed is null ? what + " No unassigned appeal is waiting for you." : what;
            return Redirect(claimed is null ? ConsoleExtensions.Path : $"{ConsoleExtensions.Path}/appeals/{Uri.EscapeDataString(claimed.Id)}");
        }
        catch (ValidationException invalid)
        {
            foreach (var error in invalid.Errors)
            {
                ModelState.AddModelError(error.PropertyName, error.ErrorMessage);
            }
        }
        catch (DomainException refused)
        {
            // Lost a race or broke a rule: say what happened, on the appeal as it is now (a reload resubmits nothing).
            Outcome = refused.Message;
            return Redirect(AppealUrl());
        }

        await LoadAsync(cancellationToken);
        return Page();
    }

    /// <summary>Take over an appeal another reviewer holds (a reassignment, audited).</summary>
    public async Task<IActionResult> OnPostTakeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await sender.Send(new AssignAppealCommand(AppealId, Reviewer), cancellationToken);
            Notice = "You now hold this appeal.";
            return Redirect(AppealUrl());
        }
        catch (DomainException refused)
        {
            Outcome = refused.Message;
            return Redirect(AppealUrl());
        }
    }

    private string AppealUrl() => $"{ConsoleExtensions.Path}/appeals/{Uri.EscapeDataString(AppealId)}";

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Appeal = await sender.Send(new GetAppealQuery(AppealId), cancellationToken);
        Record = await UserRecord.LoadAsync(sender, Appeal.UserId, Appeal.Id, cancellationToken);
        Violation = await sender.Send(new Features.Violations.GetViolationQuery(Appeal.ViolationId), cancellationToken);
        Now = timeProvider.GetUtcNow();

        Bar = Appeal.DecisionBarFor(Reviewer, Violation);
        Blocked = Bar switch
        {
            DecisionBar.Decided => $"This appeal was decided ({Display.Name(Appeal.State)}) by {Appeal.DecidedBy}; decisions are final.",
            DecisionBar.NotOpen => "The user withdrew this appeal.",
            DecisionBar.OwnCall => "You made the contested call, so another reviewer must decide this appeal.",
            DecisionBar.HeldByAnother => $"{Appeal.Assignee} holds this appeal; take it over to decide it.",
            _ => null,
        };

        Reductions = DecisionPreview.ReductionsOf(Violation.Severity);
        var counting = Record.Score.Breakdown.Select(c => c.Violation).ToArray();
        var previews = new List<(string, string, Score)>
        {
            ("uphold", "Uphold", DecisionPreview.After(policy, counting, Violation.Id, AppealDecision.Uphold, Severity.Unspecified, Now)),
            ("overturn", "Overturn", DecisionPreview.After(policy, counting, Violation.Id, AppealDecision.Overturn, Severity.Unspecified, Now)),
        };
        previews.AddRange(Reductions.Select(s =>
            ($"reduce-{Display.Name(s)}", $"Reduce to {Display.Name(s)}", DecisionPreview.After(policy, counting, Violation.Id, AppealDecision.Reduce, s, Now))));
        Previews = previews;
    }
}
