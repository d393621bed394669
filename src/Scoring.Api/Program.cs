using Scoring.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);

// `migrate` applies pending migrations and exits: the deployment's one-off step (the Helm hook Job).
// It serves no calls, so it needs no authentication settings.
var migrateOnly = args is ["migrate", ..];
if (migrateOnly)
{
    builder.Configuration["Auth:Mode"] = "None";
    builder.Configuration["Auth:AllowAnonymous"] = "true";
}

builder.AddScoring();

var app = builder.Build();
app.MapScoring();

if (migrateOnly)
{
    await app.MigrateAsync();
    return;
}

await app.PrepareAsync();
await app.RunAsync();

/// <summary>The entry point; public so integration tests can host it.</summary>
public partial class Program;
