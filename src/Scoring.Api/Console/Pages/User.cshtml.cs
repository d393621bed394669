using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Scoring.Api.Console.Pages;

/// <summary>User lookup: a user id → score, breakdown, violations, appeals, audit chain and its verification.</summary>
public sealed class UserModel(ISender sender, TimeProvider timeProvider) : ConsolePageModel
{
    /// <summary>From the route (a link), or posted by the lookup form (so it is not in the address).</summary>
    [BindProperty(SupportsGet = true)]
    public string? UserId { get; set; }

    public UserRecord? Record { get; private set; }

    public DateTimeOffset Now { get; private set; }

    public Task<IActionResult> OnPostAsync(CancellationToken cancellationToken) => OnGetAsync(cancellationToken);

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        Now = timeProvider.GetUtcNow();
        if (!string.IsNullOrWhiteSpace(UserId))
        {
            try
            {
                Record = await UserRecord.LoadAsync(sender, UserId.Trim(), null, cancellationToken);
            }
            catch (FluentValidation.ValidationException invalid)
            {
                ModelState.AddModelError(nameof(UserId), invalid.Errors.FirstOrDefault()?.ErrorMessage ?? "not a user id");
            }
        }

        return Page();
    }
}
