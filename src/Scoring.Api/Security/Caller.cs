using System.Security.Claims;

namespace Scoring.Api.Security;

/// <summary>Who is calling, as the token says; anonymous when authentication is off.</summary>
public sealed class Caller(IHttpContextAccessor httpContext)
{
    private ClaimsPrincipal? User => httpContext.HttpContext?.User;

    public bool IsAuthenticated => User?.Identity?.IsAuthenticated == true;

    /// <summary>The token's subject: a person (reviewer) or, for client credentials, the client.</summary>
    public string? Subject => Claim("sub");

    /// <summary>The calling application: <c>azp</c>, else <c>client_id</c>, else <c>sub</c>.</summary>
    public string? ClientId => Claim("azp") ?? Claim("client_id") ?? Subject;

    private string? Claim(string type) => User?.FindFirst(type)?.Value is { Length: > 0 } value ? value : null;
}

/// <summary>The caller claims to be someone else (a forged source or reviewer).</summary>
public sealed class PermissionDeniedException(string message) : Exception(message);
