using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>HS256 tokens for the service's shared-key mode.</summary>
public static class Tokens
{
    public const string SigningKey = "scoring-tests-signing-key-0123456789abcdef";
    public const string Issuer = "https://issuer.scoring.test";
    public const string Audience = "scoring";

    public static Dictionary<string, string?> JwtSettings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Jwt",
            ["Auth:AllowAnonymous"] = "false",
            ["Auth:SigningKey"] = SigningKey,
            ["Auth:Issuer"] = Issuer,
            ["Auth:Audience"] = Audience,
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// A token valid around both the real clock and the service's fake one, unless <paramref name="expired"/>.
    /// </summary>
    public static string Create(
        string subject, string[] roles, string? clientId = null, bool expired = false, string signingKey = SigningKey, DateTimeOffset? serviceNow = null,
        string issuer = Issuer, string audience = Audience)
    {
        var real = TimeProvider.System.GetUtcNow();
        var fake = serviceNow ?? real;
        var earliest = real < fake ? real : fake;
        var latest = real > fake ? real : fake;

        var claims = new Dictionary<string, object> { ["roles"] = roles };
        if (clientId is not null)
        {
            claims["azp"] = clientId;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", subject)]),
            Claims = claims,
            Issuer = issuer,
            Audience = audience,
            IssuedAt = (earliest - TimeSpan.FromHours(2)).UtcDateTime,
            NotBefore = (earliest - TimeSpan.FromHours(2)).UtcDateTime,
            Expires = expired ? (earliest - TimeSpan.FromHours(1)).UtcDateTime : (latest + TimeSpan.FromHours(1)).UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public static global::Grpc.Core.Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };
}
