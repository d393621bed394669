using Scoring.Api.Extensions;

try
{
    var builder = WebApplication.CreateBuilder(args);

    // `migrate` applies pending migrations and exits: the deployment's one-off step (the Helm hook Job).
    // `seal-audit-chains` covers chains written before audit keys with a keyed entry (README, "The audit
    // key"). Neither serves calls, so neither needs authentication settings.
    var migrateOnly = args is ["migrate", ..];
    var sealOnly = args is ["seal-audit-chains", ..];
    if (migrateOnly || sealOnly)
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
    if (sealOnly)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<Scoring.Api.Features.Audit.AuditChainSealer>().SealAsync(CancellationToken.None);
        Console.WriteLine($"sealed {result.Sealed} audit chains; {result.Broken.Count} do not verify and were left unsealed{(result.Broken.Count > 0 ? ": " + string.Join(' ', result.Broken) : "")}");
        return result.Broken.Count == 0 ? 0 : 2;
    }

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
