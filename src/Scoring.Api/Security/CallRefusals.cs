using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.IdentityModel.Tokens;

namespace Scoring.Api.Security;

/// <summary>The caller must hold at least one of these roles; also its own handler.</summary>
public sealed class AnyRoleRequirement(IReadOnlyCollection<string> roles) : AuthorizationHandler<AnyRoleRequirement>, IAuthorizationRequirement
{
    public IReadOnlyCollection<string> Roles { get; } = roles;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AnyRoleRequirement requirement)
    {
        if (ScoringRoles.Of(context.User).Overlaps(requirement.Roles))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Turns a refused call into an answer that says why: UNAUTHENTICATED or PERMISSION_DENIED (HTTP 401 or
/// 403 on the HTTP/JSON port) with the reason as the status message and in an RFC 6750
/// <c>WWW-Authenticate</c> header, logged at Information. A bare HTTP 401/403 would reach gRPC clients with
/// no reason at all. Nothing of the token is echoed.
/// </summary>
public sealed partial class CallRefusals(ILogger<CallRefusals> logger) : IAuthorizationMiddlewareResultHandler
{
    private const int Unauthenticated = 16;
    private const int PermissionDenied = 7;
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        // The console's pages answer as its cookie scheme does: a redirect to sign in, or the Denied page.
        if (policy.AuthenticationSchemes.Contains(Console.ConsoleExtensions.CookieScheme))
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        if (authorizeResult.Challenged)
        {
            var authentication = await context.AuthenticateAsync();
            var reason = WhyUnauthenticated(authentication.Failure, context.Request.Headers.Authorization.Count > 0);
            var error = authentication.Failure is null ? "invalid_request" : "invalid_token";
            await Refuse(context, Unauthenticated, reason, $"Bearer error=\"{error}\", error_description=\"{reason}\"");
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var roles = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<AnyRoleRequirement>().FirstOrDefault()?.Roles;
            var reason = roles is null ? "no role may make this call" : $"missing role {string.Join(" or ", roles)}";
            var scope = roles is null ? "" : $", scope=\"{string.Join(' ', roles)}\"";
            await Refuse(context, PermissionDenied, reason, $"Bearer error=\"insufficient_scope\", error_description=\"{reason}\"{scope}");
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    /// <summary>A short reason from the validation failure: which check the token failed, never its contents.</summary>
    public static string WhyUnauthenticated(Exception? failure, bool sentAuthorization) => failure switch
    {
        null => sentAuthorization ? "missing bearer token (the authorization header is not 'Bearer <token>')" : "missing token",
        AggregateException { InnerExceptions.Count: > 0 } aggregate => WhyUnauthenticated(aggregate.InnerExceptions[0], sentAuthorization),
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "bad signature",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenNoExpirationException => "token has no expiry",
        SecurityTokenInvalidAlgorithmException => "signing algorithm not accepted",
        SecurityTokenMalformedException or ArgumentException => "malformed token",
        _ => "invalid token",
    };

    /// <summary>In the caller's protocol (<see cref="Refusal"/>), with the RFC 6750 challenge either way.</summary>
    private Task Refuse(HttpContext context, int status, string reason, string challenge)
    {
        // The route's pattern, not the path: HTTP/JSON paths carry user ids, which the log must not keep.
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? "";
        LogRefused(route, status == Unauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED", reason);
        context.Response.Headers.WWWAuthenticate = challenge;
        return status == Unauthenticated
            ? Refusal.WriteAsync(context, Google.Rpc.Code.Unauthenticated, StatusCodes.Status401Unauthorized, reason)
            : Refusal.WriteAsync(context, Google.Rpc.Code.PermissionDenied, StatusCodes.Status403Forbidden, reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Path}: {Status}, {Reason}")]
    private partial void LogRefused(string path, string status, string reason);
}
