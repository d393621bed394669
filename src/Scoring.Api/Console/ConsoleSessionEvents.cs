using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Scoring.Api.Console;

/// <summary>
/// The console session's rules: it ends <c>Console:MaxSessionLifetime</c> after sign-in however busy the
/// reviewer is (so a role taken away at the provider takes effect); the queue's own refresh does not keep it
/// alive; and a background refresh with no session is told to reload the page rather than redirected.
/// </summary>
public sealed class ConsoleSessionEvents(TimeSpan maxLifetime) : CookieAuthenticationEvents
{
    private const string SignedInAt = "console_signed_in_at";

    public override Task SigningIn(CookieSigningInContext context)
    {
        if (context.Principal?.Identity is ClaimsIdentity identity && !identity.HasClaim(c => c.Type == SignedInAt))
        {
            identity.AddClaim(new Claim(SignedInAt, (context.Options.TimeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
        }

        return Task.CompletedTask;
    }

    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        var signedIn = context.Principal?.FindFirst(SignedInAt)?.Value;
        var now = (context.Options.TimeProvider ?? TimeProvider.System).GetUtcNow();
        if (signedIn is null || !long.TryParse(signedIn, CultureInfo.InvariantCulture, out var seconds)
            || now - DateTimeOffset.FromUnixTimeSeconds(seconds) > maxLifetime)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(ConsoleExtensions.CookieScheme);
        }
    }

    public override Task CheckSlidingExpiration(CookieSlidingExpirationContext context)
    {
        // The queue refreshes itself every few seconds: only what the reviewer does keeps the session alive.
        if (IsBackgroundRefresh(context.HttpContext.Request))
        {
            context.ShouldRenew = false;
        }

        return Task.CompletedTask;
    }

    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context)
    {
        if (IsBackgroundRefresh(context.Request))
        {
            // htmx reloads the whole page, which then goes to sign-in as a navigation.
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers["HX-Refresh"] = "true";
            return Task.CompletedTask;
        }

        return base.RedirectToLogin(context);
    }

    private static bool IsBackgroundRefresh(HttpRequest request) => request.Headers.ContainsKey("HX-Request");
}
