using Scoring.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddScoring();

var app = builder.Build();
app.MapScoring();

// `migrate` applies pending migrations and exits: the deployment's one-off step (the Helm hook Job).
if (args is ["migrate", ..])
{
    await app.MigrateAsync();
    return;
}

await app.PrepareAsync();
await app.RunAsync();

/// <summary>The entry point; public so integration tests can host it.</summary>
public partial class Program;
