using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Scoring.Api.Security;

namespace Scoring.Api.Console.Pages;

/// <summary>Signed in without a console role, or signed out: says which, and why.</summary>
public sealed class DeniedModel : PageModel
{
    [BindProperty(SupportsGet = true)]
    public bool SignedOut { get; set; }

    public string? Who { get; private set; }

    public string Needed => $"{ScoringRoles.Reviewer} nor {ScoringRoles.Admin}";

    public async Task OnGetAsync()
    {
        // Anonymous page: the console's session is read here, not by an authorization policy.
        Who = (await HttpContext.AuthenticateAsync(ConsoleExtensions.CookieScheme)).Principal?.FindFirst("sub")?.Value;
        if (!SignedOut)
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
        }
    }
}
