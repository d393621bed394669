using Mediator;
using Microsoft.AspNetCore.Mvc;
using Scoring.Api.Features.Appeals;
using Scoring.Api.Features.Policies;
using Scoring.Api.Features.Scores;
using Scoring.Domain;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Console.Pages;

/// <summary>The queue: open appeals oldest first, filtered, refreshing itself; and "Start reviewing".</summary>
public sealed class QueueModel(ISender sender) : ConsolePageModel
{
    public const int Limit = 200;

    /// <summary>An appeal state in words (submitted, in_review, upheld, …); empty means the open ones.</summary>
    [BindProperty(SupportsGet = true)]
    public string? State { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool Mine { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool Unassigned { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool Overdue { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Category { get; set; }

    public ReviewQueue Queue { get; private set; } = null!;

    public IReadOnlyDictionary<string, Standing> Standings { get; private set; } = new Dictionary<string, Standing>();

    public IReadOnlyList<string> Categories { get; private set; } = [];

    public static IReadOnlyList<AppealState> States { get; } = [.. Enum.GetValues<AppealState>().Where(s => s != AppealState.Unspecified)];

    /// <summary>This page's filters as a query string, for the self-refresh.</summary>
    public string FilterQuery => string.Join('&', new[]
    {
        string.IsNullOrEmpty(State) ? null : "state=" + Uri.EscapeDataString(State),
        Mine ? "mine=true" : null,
        Unassigned ? "unassigned=true" : null,
        Overdue ? "overdue=true" : null,
        string.IsNullOrEmpty(Category) ? null : "category=" + Uri.EscapeDataString(Category),
    }.Where(p => p is not null));

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        return Page();
    }

    /// <summary>The counts and rows alone, for the page's own refresh.</summary>
    public async Task<IActionResult> OnGetRowsAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        return Partial("_Queue", this);
    }

    /// <summary>Start reviewing: claim the oldest unassigned appeal this reviewer may decide, and open it.</summary>
    public async Task<IActionResult> OnPostNextAsync(CancellationToken cancellationToken)
    {
        var claimed = await sender.Send(new ClaimNextAppealCommand(Reviewer), cancellationToken);
        if (claimed is null)
        {
            Notice = "No unassigned appeal is waiting for you.";
            return Redirect(ConsoleExtensions.Path);
        }

        return Redirect($"{ConsoleExtensions.Path}/appeals/{Uri.EscapeDataString(claimed.Id)}");
    }

    public static string StateKey(AppealState state) => state switch
    {
        AppealState.InReview => "in_review",
        _ => state.ToString().ToLowerInvariant(),
    };

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var state = States.Cast<AppealState?>().FirstOrDefault(s => StateKey(s!.Value) == State);
        Queue = await sender.Send(
            new ReviewQueueQuery(state, Mine ? Reviewer : null, Unassigned, Overdue, string.IsNullOrEmpty(Category) ? null : Category, Limit),
            cancellationToken);
        var users = Queue.Appeals.Select(a => a.Appeal.UserId).Distinct(StringComparer.Ordinal).ToArray();
        if (users.Length > 0)
        {
            var scores = await sender.Send(new GetScoresQuery(users), cancellationToken);
            Standings = users.Zip(scores).ToDictionary(p => p.First, p => p.Second.Standing, StringComparer.Ordinal);
        }

        Categories = [.. (await sender.Send(new GetPolicyQuery(), cancellationToken)).Categories.Select(c => c.Name).Order(StringComparer.Ordinal)];
    }
}
