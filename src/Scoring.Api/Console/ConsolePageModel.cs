using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Scoring.Api.Console;

/// <summary>A console page: the signed-in reviewer is the session's <c>sub</c>, as a token's would be on gRPC.</summary>
public abstract class ConsolePageModel : PageModel
{
    public string Reviewer => User.FindFirst("sub")?.Value ?? throw new InvalidOperationException("The console's pages require a signed-in reviewer.");

    /// <summary>What the last action did, shown once on the next page (after a redirect).</summary>
    [Microsoft.AspNetCore.Mvc.TempData]
    public string? Notice { get; set; }
}
