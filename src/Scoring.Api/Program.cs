using Scoring.Api.Extensions;

try
{
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
        return 0;
    }

    await app.PrepareAsync();
    await app.RunAsync();
    return 0;
}
catch (Exception exception) when (IsOwnProcess() && StartupErrors.Describe(exception) is { } problem)
{
    // A settings mistake: one line naming it, not an unhandled exception and a core dump's exit code.
    // Hosted by someone else (WebApplicationFactory in tests) the exception stays theirs to see.
    await Console.Error.WriteLineAsync($"error: {problem}");
    return 1;
}

static bool IsOwnProcess() => System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly;

/// <summary>The entry point; public so integration tests can host it.</summary>
public partial class Program;
