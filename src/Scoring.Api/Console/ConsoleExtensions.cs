using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Scoring.Api.Options;
using Scoring.Api.Security;

namespace Scoring.Api.Console;

/// <summary>How reviewers sign in to the console, decided at start from the authentication mode.</summary>
public enum ConsoleSignIn
{
    /// <summary>Under JWT without <c>Console:ClientId</c>: the console is not served.</summary>
    Off,

    /// <summary><c>Auth:Mode=None</c> (Development): a form that asks for a reviewer id, no password.</summary>
    Development,

    /// <summary><c>Auth:Mode=Jwt</c>: OpenID Connect (authorization code with PKCE) against <c>Auth:Authority</c>.</summary>
    OpenIdConnect,
}

public sealed record ConsoleSettings(ConsoleSignIn SignIn);

/// <summary>
/// The reviewer console: Razor Pages at <c>/console</c> on the HTTP/1.1 port, a cookie session, and its
/// scripts and styles served from the assembly (no CDN). Pages send the same mediator requests as the gRPC
/// adapters.
/// </summary>
public static class ConsoleExtensions
{
    public const string Path = "/console";
    public const string CookieScheme = "Console";
    public const string OidcScheme = "ConsoleOidc";
    public const string Policy = "console";
    private const string AssetsPath = "/console/assets";

    // script-src 'self': no inline script anywhere; style-src too (htmx's indicator styles are turned off).
    // form-action also names the OpenID Connect provider: a form posted with an expired session ends there.
    private static string ContentSecurityPolicy(string? provider) =>
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        + (provider is null ? "" : " " + provider);

    public static ConsoleSettings AddScoringConsole(this WebApplicationBuilder builder, AuthMode mode)
    {
        var services = builder.Services;
        services.AddOptions<ConsoleOptions>().BindConfiguration(ConsoleOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConsoleOptions>, ConsoleOptionsValidator>();
        var options = builder.Configuration.GetSection(ConsoleOptions.SectionName).Get<ConsoleOptions>() ?? new ConsoleOptions();
        var auth = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var settings = new ConsoleSettings(mode switch
        {
            // A sign-in without a password only where nobody else can reach it.
            AuthMode.None when builder.Environment.IsDevelopment() => ConsoleSignIn.Development,
            AuthMode.None => ConsoleSignIn.Off,
            _ when string.IsNullOrWhiteSpace(options.ClientId) || string.IsNullOrWhiteSpace(auth.Authority) => ConsoleSignIn.Off,
            _ => ConsoleSignIn.OpenIdConnect,
        });
        services.AddSingleton(settings);
        if (settings.SignIn == ConsoleSignIn.Off)
        {
            return settings;
        }

        services.AddRazorPages(pages =>
        {
            pages.RootDirectory = "/Console/Pages";
            pages.Conventions.AuthorizeFolder("/", Policy);
            pages.Conventions.AllowAnonymousToPage("/SignIn");
            pages.Conventions.AllowAnonymousToPage("/Denied");
        });

        // One key ring for every replica, in the database: a session or form started on one is valid on all.
        services.AddDataProtection().SetApplicationName("scoring").PersistKeysToDbContext<Infrastructure.Persistence.ScoringDbContext>();

        var development = builder.Environment.IsDevelopment();
        var authentication = services.AddAuthentication();
        authentication.AddCookie(CookieScheme, cookie =>
        {
            cookie.Cookie.Name = "scoring-console";
            cookie.Cookie.Path = Path;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = development ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            cookie.ExpireTimeSpan = options.SessionLifetime;
            cookie.SlidingExpiration = true;
            // The sign-in page (which sends a browser on to the provider under OIDC): a form posted with an
            // expired session is redirected within the console first.
            cookie.LoginPath = Path + "/sign-in";
            cookie.AccessDeniedPath = Path + "/denied";
            cookie.Events = new ConsoleSessionEvents(options.MaxSessionLifetime);
        });

        if (settings.SignIn == ConsoleSignIn.OpenIdConnect)
        {
            authentication.AddOpenIdConnect(OidcScheme, oidc =>
            {
                oidc.Authority = auth.Authority;
                oidc.ClientId = options.ClientId;
                oidc.ClientSecret = string.IsNullOrWhiteSpace(options.ClientSecret) ? null : options.ClientSecret;
                oidc.ResponseType = "code";
                oidc.UsePkce = true;
                // The code comes back on a top-level GET, so the correlation and nonce cookies can be SameSite=Lax
                // (form_post would need SameSite=None, which browsers drop without Secure).
                oidc.ResponseMode = "query";
                oidc.SignInScheme = CookieScheme;
                oidc.CallbackPath = Path + "/signin-oidc";
                oidc.RequireHttpsMetadata = !development;
                // Claim names as issued (sub, roles, scope), as the gRPC side reads them.
                oidc.MapInboundClaims = false;
                oidc.TokenValidationParameters.NameClaimType = "sub";
                oidc.TokenValidationParameters.RoleClaimType = "roles";
                oidc.Scope.Clear();
                foreach (var scope in options.EffectiveScopes)
                {
                    oidc.Scope.Add(scope);
                }

                oidc.CorrelationCookie.Path = Path;
                oidc.NonceCookie.Path = Path;
                oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
                oidc.NonceCookie.SameSite = SameSiteMode.Lax;
                oidc.CorrelationCookie.SecurePolicy = cookie(development);
                oidc.NonceCookie.SecurePolicy = cookie(development);
            });
        }

        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(CookieScheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new AnyRoleRequirement([ScoringRoles.Reviewer, ScoringRoles.Admin])));
        return settings;

        static CookieSecurePolicy cookie(bool development) => development ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
    }

    /// <summary>Security headers on every console response, and its assets; before authentication.</summary>
    public static WebApplication UseScoringConsole(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ConsoleSettings>().SignIn == ConsoleSignIn.Off)
        {
            return app;
        }

        // By the port the request arrived on, not its Host header: through an Ingress the Host has no port.
        var httpPort = app.Services.GetRequiredService<HostingOptions>().HttpPort;
        var authority = app.Services.GetRequiredService<ConsoleSettings>().SignIn == ConsoleSignIn.OpenIdConnect
            && Uri.TryCreate(app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Authority, UriKind.Absolute, out var provider)
                ? provider.GetLeftPart(UriPartial.Authority)
                : null;
        var policy = ContentSecurityPolicy(authority);
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), console =>
        {
            console.Use((context, next) =>
            {
                if (context.Connection.LocalPort != httpPort)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = policy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
                if (!context.Request.Path.StartsWithSegments(AssetsPath))
                {
                    // Pages show personal data: nothing kept for the back button after sign-out.
                    headers.CacheControl = "no-store";
                }

                return next(context);
            });
            // A failure on a page is answered with a page, with the status the same failure gets on gRPC.
            console.UseMiddleware<ConsoleErrors>();
            console.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = AssetsPath,
                FileProvider = new EmbeddedFileProvider(typeof(ConsoleExtensions).Assembly, "Scoring.Api.Console.wwwroot"),
            });
        });
        return app;
    }

    public static WebApplication MapScoringConsole(this WebApplication app)
    {
        var httpPort = app.Services.GetRequiredService<HostingOptions>().HttpPort;
        if (app.Services.GetRequiredService<ConsoleSettings>().SignIn == ConsoleSignIn.Off || httpPort == 0)
        {
            return app;
        }

        // Only on the HTTP port: UseScoringConsole answers 404 to /console on any other.
        app.MapRazorPages();
        return app;
    }

    /// <summary>An asset's URL with its content hash, so browsers may keep it until it changes.</summary>
    public static string Asset(string name) => $"{AssetsPath}/{name}?v={AssetVersion}";

    // The build's module id: the same on every replica of one build, new with every build.
    private static readonly string AssetVersion = typeof(ConsoleExtensions).Assembly.ManifestModule.ModuleVersionId.ToString("N")[..12];
}
