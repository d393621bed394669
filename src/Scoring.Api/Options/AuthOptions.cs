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
