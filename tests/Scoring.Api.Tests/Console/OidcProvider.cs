using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using Microsoft.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// A real OpenID Connect provider (OpenIddict's server) on a loopback port: discovery, keys, an
/// authorization endpoint and a token endpoint for the authorization code flow with PKCE. It has no login
/// form: the authorization endpoint signs in whoever the test named in <see cref="NextUser"/>.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    public const string ClientId = "scoring-console";
    public const string ClientSecret = "console-test-secret";

    private readonly WebApplication _app;
    private readonly string _database;

    private OidcProvider(WebApplication app, string database, string issuer)
    {
        _app = app;
        _database = database;
        Issuer = issuer;
    }

    public string Issuer { get; }

    /// <summary>Who signs in next: the subject and the roles the ID token will carry.</summary>
    public (string Subject, string[] Roles) NextUser { get; set; } = ("nobody", []);

    public static async Task<OidcProvider> StartAsync(int port, string redirectUri)
    {
        var issuer = $"http://127.0.0.1:{port}/";
        var database = Path.Combine(Path.GetTempPath(), $"scoring-oidc-{Guid.NewGuid():N}.db");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls(issuer);
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<DbContext>(db => db.UseSqlite($"Data Source={database}").UseOpenIddict());
        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<DbContext>())
            .AddServer(server =>
            {
                server.SetIssuer(new Uri(issuer));
                server.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
                server.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                server.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Roles);
                server.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
                server.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
            });

        var app = builder.Build();
        var provider = new OidcProvider(app, database, issuer);
        app.MapMethods("connect/authorize", [HttpMethods.Get, HttpMethods.Post], (HttpContext context) =>
        {
            var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
            var (subject, roles) = provider.NextUser;
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, subject);
            identity.SetClaims(Claims.Role, [.. roles]);
            identity.SetScopes(request.GetScopes());
            identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });

        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DbContext>().Database.EnsureCreatedAsync();
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(new OpenIddictApplicationDescriptor
            {
                ClientId = ClientId,
                ClientSecret = ClientSecret,
                ClientType = ClientTypes.Confidential,
                RedirectUris = { new Uri(redirectUri) },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token,
                    Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code,
                    Permissions.Prefixes.Scope + Scopes.Profile, Permissions.Prefixes.Scope + Scopes.Roles,
                },
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            });
        }

        await app.StartAsync();
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_database);
    }
}
