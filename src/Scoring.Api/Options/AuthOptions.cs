using System.Text;
using Microsoft.Extensions.Options;

namespace Scoring.Api.Options;

/// <summary>How callers prove who they are. See README, "Authentication".</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>None or Jwt. Unset means None in Development and a refusal to start anywhere else.</summary>
    public AuthMode? Mode { get; set; }

    /// <summary>OIDC authority whose discovery document and keys validate tokens (the production way).</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must carry.</summary>
    public string? Audience { get; set; }

    /// <summary>The issuer tokens must carry (required with <see cref="SigningKey"/>).</summary>
    public string? Issuer { get; set; }

    /// <summary>A shared HS256 key (at least 32 bytes) for tests and small installs, instead of an authority.</summary>
    public string? SigningKey { get; set; }

    /// <summary>Allows Mode None outside Development; the service then warns at every start.</summary>
    public bool AllowAnonymous { get; set; }
}

public enum AuthMode
{
    None,
    Jwt,
}

/// <summary>The rules between the authentication settings, checked at start; each failure names its setting.</summary>
public sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var development = environment.IsDevelopment();
        if (options.Mode is null)
        {
            return development
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(
                    $"Auth:Mode must be set (None or Jwt) outside the Development environment (this is {environment.EnvironmentName}).");
        }

        if (options.Mode == AuthMode.None && !development && !options.AllowAnonymous)
        {
            return ValidateOptionsResult.Fail(
                "Auth:Mode is None outside Development: set Auth:AllowAnonymous=true to run without authentication on purpose.");
        }

        if (options.Mode != AuthMode.Jwt)
        {
            return ValidateOptionsResult.Success;
        }

        var hasAuthority = !string.IsNullOrWhiteSpace(options.Authority);
        var hasKey = !string.IsNullOrWhiteSpace(options.SigningKey);
        if (hasAuthority == hasKey)
        {
            return ValidateOptionsResult.Fail("Auth:Mode Jwt needs exactly one of Auth:Authority (OIDC) or Auth:SigningKey (HS256).");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            return ValidateOptionsResult.Fail("Auth:Mode Jwt needs Auth:Audience.");
        }

        if (hasKey && (string.IsNullOrWhiteSpace(options.Issuer) || Encoding.UTF8.GetByteCount(options.SigningKey!) < 32))
        {
            return ValidateOptionsResult.Fail("Auth:SigningKey needs Auth:Issuer and a key of at least 32 bytes.");
        }

        return ValidateOptionsResult.Success;
    }
}
