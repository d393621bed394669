using Microsoft.Extensions.Options;

namespace Scoring.Api.Options;

/// <summary>The HTTP/JSON API's settings beyond its port (<see cref="HostingOptions.HttpPort"/>).</summary>
public sealed class HttpOptions
{
    public const string SectionName = "Http";

    /// <summary>
    /// Browser origins (scheme, host and port, as <c>https://dash.example.org</c>) allowed to call the
    /// HTTP/JSON API from a page; none by default. Server-side callers need no entry.
    /// </summary>
    public string[] CorsOrigins { get; set; } = [];
}

/// <summary>Each CORS origin must be an origin, so a typo stops start-up instead of silently allowing nothing.</summary>
public sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        var wrong = options.CorsOrigins
            .Select((origin, index) => (origin, index))
            .Where(o => !IsOrigin(o.origin))
            .Select(o => $"Http:CorsOrigins:{o.index} is '{o.origin}'; it must be an origin such as https://dash.example.org (scheme, host, optional port; no path)")
            .ToList();
        return wrong.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(wrong);
    }

    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.AbsolutePath == "/" && !origin.EndsWith('/')
        && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;
}
