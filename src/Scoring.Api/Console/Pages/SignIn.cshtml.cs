using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Scoring.Api.Security;

namespace Scoring.Api.Console.Pages;

/// <summary>
/// Signing in: under <c>Auth:Mode=None</c> (Development) a form asking for a reviewer id, no password; under
/// JWT a redirect to the OpenID Connect provider. Signing out ends the console's session.
/// </summary>
public sealed class SignInModel(ConsoleSettings settings) : PageModel
{
    private const int MaxReviewerIdLength = 128;

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string ReviewerId { get; set; } = "";

    public IActionResult OnGet() => settings.SignIn == ConsoleSignIn.OpenIdConnect
        ? Challenge(new AuthenticationProperties { RedirectUri = SafeReturn() }, ConsoleExtensions.OidcScheme)
        : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        if (settings.SignIn != ConsoleSignIn.Development)
        {
            return NotFound();
        }

        var reviewer = ReviewerId?.Trim() ?? "";
        if (reviewer.Length is 0 or > MaxReviewerIdLength || reviewer.Any(char.IsControl) || reviewer.Any(char.IsWhiteSpace))
        {
            ModelState.AddModelError(nameof(ReviewerId), $"A reviewer id is 1 to {MaxReviewerIdLength} characters, without spaces.");
            return Page();
        }

        // As a token would say it: the reviewer is the subject, with the reviewer role.
        var identity = new ClaimsIdentity(
            [new Claim("sub", reviewer), new Claim("roles", ScoringRoles.Reviewer)],
            ConsoleExtensions.CookieScheme, "sub", "roles");
        await HttpContext.SignInAsync(ConsoleExtensions.CookieScheme, new ClaimsPrincipal(identity));
        return LocalRedirect(SafeReturn());
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(ConsoleExtensions.CookieScheme);
        return settings.SignIn == ConsoleSignIn.OpenIdConnect ? Redirect(ConsoleExtensions.Path + "/denied?signedOut=true") : Redirect(ConsoleExtensions.Path + "/sign-in");
    }

    /// <summary>Back where the reviewer was going, if that is a console page; the queue otherwise.</summary>
    private string SafeReturn() =>
        ReturnUrl is { } url && Url.IsLocalUrl(url) && url.StartsWith(ConsoleExtensions.Path, StringComparison.Ordinal) ? url : ConsoleExtensions.Path;
}
