using Microsoft.Extensions.Options;

namespace Scoring.Api.Options;

/// <summary>The reviewer console at <c>/console</c> on the HTTP port. See README, "The reviewer console".</summary>
public sealed class ConsoleOptions
{
    public const string SectionName = "Console";

    /// <summary>With <c>Auth:Mode=Jwt</c>: the console's OpenID Connect client at <c>Auth:Authority</c>. Unset turns the console off under JWT.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client's secret, when the provider gives it one (a confidential client); PKCE is used either way.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// The scopes asked for at sign-in; empty means <see cref="DefaultScopes"/>. The roles come from the ID
    /// token's <c>roles</c> (or <c>role</c>, <c>scope</c>) claims. Empty by default so that configured scopes
    /// replace the defaults (the binder appends to an array's initial items).
    /// </summary>
    public string[] Scopes { get; set; } = [];

    public static IReadOnlyList<string> DefaultScopes { get; } = ["openid", "profile", "roles"];

    public IReadOnlyList<string> EffectiveScopes => Scopes.Length == 0 ? DefaultScopes : Scopes;

    /// <summary>Rationales a reviewer can start from; choosing one fills the rationale field.</summary>
    public string[] RationaleTemplates { get; set; } = [];

    /// <summary>How long a sign-in lasts without use.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long a sign-in lasts at most, however busy: then the reviewer signs in again (and the roles are read again).</summary>
    public TimeSpan MaxSessionLifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>The console's settings against the authentication mode, checked at start; each failure names its setting.</summary>
public sealed class ConsoleOptionsValidator(IOptions<AuthOptions> auth) : IValidateOptions<ConsoleOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.ClientId) && auth.Value.Mode == AuthMode.Jwt && string.IsNullOrWhiteSpace(auth.Value.Authority))
        {
            failures.Add("Console:ClientId needs Auth:Authority (an OpenID Connect provider to sign reviewers in); Auth:SigningKey cannot sign a browser in.");
        }

        if (options.Scopes.Length > 0 && !options.Scopes.Contains("openid"))
        {
            failures.Add($"Console:Scopes is '{string.Join(' ', options.Scopes)}'; OpenID Connect sign-in needs the scope openid among them.");
        }

        if (options.SessionLifetime <= TimeSpan.Zero)
        {
            failures.Add($"Console:SessionLifetime is {options.SessionLifetime}; it must be positive.");
        }

        if (options.MaxSessionLifetime < options.SessionLifetime)
        {
            failures.Add($"Console:MaxSessionLifetime is {options.MaxSessionLifetime}; it must be at least Console:SessionLifetime ({options.SessionLifetime}).");
        }

        failures.AddRange(options.RationaleTemplates
            .Select((text, index) => (text, index))
            .Where(t => string.IsNullOrWhiteSpace(t.text) || t.text.Length > 5000)
            .Select(t => $"Console:RationaleTemplates:{t.index} must be between 1 and 5000 characters."));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
