using FluentValidation;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Scoring.Api.Console;
using Scoring.Api.Features.Audit;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Operations;
using Scoring.Api.Features.Privacy;
using Scoring.Api.Features.Scores;
using Scoring.Api.Features.Violations;
using Scoring.Api.Grpc;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Api.Security;
using Scoring.Domain.Policies;
using StackExchange.Redis;

namespace Scoring.Api.Extensions;

public static class ScoringServiceExtensions
{
    private const string ReadinessTag = "readiness";
    private const string LivenessTag = "liveness";

    /// <summary>Everything the service needs: gRPC, mediator, database, cache, policy, health.</summary>
    public static WebApplicationBuilder AddScoring(this WebApplicationBuilder builder)
    {
        builder.AddScoringHosting();
        builder.AddScoringTelemetry();

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IIdGenerator, GuidV7IdGenerator>();
        services.AddMetrics();
        services.AddSingleton<ScoringMetrics>();

        services.AddOptions<ScoringOptions>().BindConfiguration(ScoringOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName).ValidateOnStart();
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PoliciesOptions>().BindConfiguration(PoliciesOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ReportsOptions>().BindConfiguration(ReportsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // Until start-up reads the active stored version: the policy file (or the built-in default).
        services.AddSingleton(sp => new ActivePolicy(LoadPolicy(sp.GetRequiredService<IOptions<ScoringOptions>>().Value)));
        services.AddScoped(sp => sp.GetRequiredService<ActivePolicy>().Current);
        services.AddAuditKeys();

        var authMode = builder.AddScoringSecurity();
        services.AddSingleton(new SecuritySettings(authMode));
        builder.AddScoringConsole(authMode);

        services.AddOptions<GrpcOptions>().BindConfiguration(GrpcOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddGrpc().AddScoringHttpApi(services);
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GrpcOptions>>((grpc, transport) =>
        {
            grpc.Interceptors.Add<ExceptionInterceptor>();
            // Inside the exception mapping, which turns its refusal into INVALID_ARGUMENT.
            grpc.Interceptors.Add<RequestTextInterceptor>();
            // Bounded input: a larger request is refused with RESOURCE_EXHAUSTED before it is parsed.
            grpc.MaxReceiveMessageSize = transport.Value.MaxReceiveMessageSize;
        });
        // Stateless: one instance each, not one built per call.
        services.AddSingleton<ExceptionInterceptor>();
        services.AddSingleton<RequestTextInterceptor>();
        services.AddGrpcDecodingErrorsAsInvalidArgument();
        services.AddGrpcReflection();

        services.AddMediator(options =>
        {
            // Transient, not scoped: a call resolves each handler and behaviour once anyway, and a scope stores
            // every scoped instance in a dictionary that grows with each (its resizes were 8 % of the bytes a
            // cached GetScore allocated). Their scoped dependencies (the DbContext, the caller) stay scoped.
            options.ServiceLifetime = ServiceLifetime.Transient;
            options.PipelineBehaviors = [typeof(LoggingBehavior<,>), typeof(CallerBindingBehavior<,>), typeof(ValidationBehavior<,>)];
        });
        // One message per field: the first rule it breaks.
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : ValidationRules.ProtoNameOf(member);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : ValidationRules.ProtoNameOf(member);
        // Validators hold only the policy and the clock; built once, their rules are not rebuilt per call.
        services.AddValidatorsFromAssemblyContaining<ScoreReader>(ServiceLifetime.Singleton);
        services.AddSingleton<ScoreLoader>();
        services.AddSingleton<ScoreReader>();
        services.AddScoped<Features.Reports.ReportRollup>();
        services.AddScoped<Features.Reports.ReportAudit>();
        services.AddScoped<Features.Reports.ReportTallyCompaction>();
        services.AddScoped<Features.Reports.AppealFactReconciliation>();
        services.AddHostedService<Features.Reports.ReportTallyCompactionService>();
        services.AddScoped<UserRecordWriter>();
        services.AddScoped<ViolationRecorder>();
        services.AddScoped<Features.Audit.AuditChainSealer>();
        services.AddScoped<Features.Policies.PolicyBootstrap>();
        services.AddScoped<Features.Policies.PolicyAudit>();
        services.AddScoped<Features.Policies.PolicySimulationStep>();
        services.AddScoped<Features.Policies.PolicyRescoreStep>();
        services.AddSingleton<Features.Policies.PolicyJobSignal>();
        services.AddSingleton<Features.Policies.PolicyJobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<Features.Policies.PolicyJobRunner>());
        services.AddSingleton<Features.Policies.ActivePolicyRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<Features.Policies.ActivePolicyRefresher>());
        services.AddSingleton<ViolationWritePipeline>();
        services.AddScoped<RetentionPurge>();
        services.AddHostedService<RetentionService>();
        services.AddSingleton<Features.Standings.StandingFeedSignal>();
        services.AddSingleton<Features.Standings.StandingFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<Features.Standings.StandingFeed>());
        services.AddHostedService<Features.Standings.StandingDropScan>();
        services.AddScoped<Features.Standings.StandingWatcher>();
        // The database-wide gauges (open and overdue appeals, cache repairs pending), read every 30 s.
        services.AddScoped<LiveFiguresQuery>();
        services.AddSingleton<LiveFiguresRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveFiguresRefresher>());

        builder.AddScoringDatabase();
        builder.AddScoreCache();
        // After the cache's sync service: hosted services stop in reverse order, so the pipeline drains
        // first and the sync service then records what the drained writes cached.
        services.AddHostedService(sp => sp.GetRequiredService<ViolationWritePipeline>());

        services.AddGrpcHealthChecks(health =>
            {
                // Checks run when asked, so the answer reflects the database right now.
                health.UseHealthChecksCache = false;
                health.Services.Map("", check => check.Tags.Contains(ReadinessTag));
                health.Services.Map("scoring.v1.ConductScoring", check => check.Tags.Contains(ReadinessTag));
                health.Services.Map("readiness", check => check.Tags.Contains(ReadinessTag));
                // Liveness asks nothing of dependencies: a database outage must not get the process restarted.
                health.Services.Map("liveness", check => check.Tags.Contains(LivenessTag));
            })
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: [LivenessTag])
            .AddCheck<ShutdownHealthCheck>("shutdown", tags: [ReadinessTag])
            .AddDbContextCheck<ScoringDbContext>("database", tags: [ReadinessTag]);

        return builder;
    }

    private static void AddScoringDatabase(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        var connectionString = builder.Configuration.GetConnectionString("Scoring");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = options.Provider == DatabaseProvider.Sqlite
                ? ScoringDatabase.DefaultSqliteConnection
                : throw new InvalidConfigurationException("ConnectionStrings:Scoring must be set when Database:Provider is Postgres.");
        }

        // Each provider has its own context type, which owns that provider's migrations.
        void Configure(IServiceProvider services, DbContextOptionsBuilder db) =>
            db.UseScoringDatabase(options.Provider, connectionString).AddInterceptors(services.GetServices<IInterceptor>());

        if (options.Provider == DatabaseProvider.Postgres)
        {
            builder.Services.AddSingleton<IInterceptor, UnusableConnectionInterceptor>();
            builder.Services.AddDbContextPool<ScoringDbContext, PostgresScoringDbContext>(Configure);
        }
        else
        {
            builder.Services.AddDbContextPool<ScoringDbContext, SqliteScoringDbContext>(Configure);
        }
    }

    private static void AddScoreCache(this WebApplicationBuilder builder)
    {
        var redis = builder.Configuration.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<IScoreCache, InMemoryScoreCache>();
            // One process whose cache dies with it: nothing can be left stale, so nothing is tracked.
            builder.Services.AddSingleton(new CacheSyncLedger(tracking: false));
            return;
        }

        var configuration = ConfigurationOptions.Parse(redis);
        // Start even while Redis is down, and fail commands at once while disconnected instead of queueing them.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            // Every cache call has its own deadline (Cache:ReadTimeout, Cache:WriteTimeout). The client's own
            // must not be shorter: a write waiting for its replicas (WAIT, up to half the write timeout) was
            // cut off by the connection's 2 s timeout under a 10 s write timeout, and counted as failed.
            var writeTimeout = (int)Math.Ceiling(sp.GetRequiredService<IOptions<CacheOptions>>().Value.WriteTimeout.TotalMilliseconds);
            configuration.AsyncTimeout = Math.Max(configuration.AsyncTimeout, writeTimeout);
            return ConnectionMultiplexer.Connect(configuration);
        });
        builder.Services.AddSingleton<RedisScoreCache>();
        builder.Services.AddSingleton<NearScoreCache>();
        builder.Services.AddSingleton<IScoreCache>(sp => sp.GetRequiredService<IOptions<CacheOptions>>().Value.LocalTtl > TimeSpan.Zero
            ? sp.GetRequiredService<NearScoreCache>()
            : sp.GetRequiredService<RedisScoreCache>());
        builder.Services.AddSingleton(new CacheSyncLedger(tracking: true));
        builder.Services.AddHostedService<ScoreCacheSyncService>();
    }

    private static ScoringPolicy LoadPolicy(ScoringOptions options) =>
        string.IsNullOrWhiteSpace(options.PolicyFile) ? ScoringPolicy.Default : PolicyFile.Load(options.PolicyFile);

    /// <summary>Maps the gRPC services, health and reflection.</summary>
    public static WebApplication MapScoring(this WebApplication app)
    {
        // Outermost, so refusals written before a service runs are tagged too.
        app.UseGrpcStatusInRequestMetrics();
        app.UseScoringHttpApi();
        app.UseScoringConsole();
        app.UseScoringSecurity();
        app.MapGrpcService<ConductScoringService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<AppealsService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<AuditService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<PrivacyService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<StandingsService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<PoliciesService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        app.MapGrpcService<ReportsService>().RequireRateLimiting(SecurityExtensions.RateLimitPolicy);
        Http.ReportRoutes.MapReportRoutes(app);
        app.MapScoringHttpApi();

        // Probes and scrapes stay open whatever the authentication mode; reflection only where allowed.
        app.MapGrpcHealthChecksService().AllowAnonymous();
        var reflection = app.MapGrpcReflectionService();
        if (app.Services.GetRequiredService<SecuritySettings>().Mode == AuthMode.None
            || app.Services.GetRequiredService<IOptions<GrpcOptions>>().Value.AnonymousReflection)
        {
            reflection.AllowAnonymous();
        }
        else
        {
            // Any authenticated caller, whatever its roles; the fallback policy would deny everyone.
            reflection.RequireAuthorization(policy => policy.RequireAuthenticatedUser());
        }

        app.MapScoringConsole();

        var metricsPort = app.Services.GetRequiredService<HostingOptions>().MetricsPort;
        if (metricsPort > 0)
        {
            app.MapPrometheusScrapingEndpoint().AllowAnonymous().RequireHost($"*:{metricsPort}");
        }

        return app;
    }

    /// <summary>
    /// Resolves what start-up must prove (the policy), then applies pending migrations if configured.
    /// </summary>
    public static async Task PrepareAsync(this WebApplication app)
    {
        // The authentication rules first: a refusal there must come before any migration or warning.
        _ = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        _ = app.Services.GetRequiredService<ActivePolicy>();
        app.WarnIfAnonymous(app.Services.GetRequiredService<SecuritySettings>().Mode);
        app.LogAuditKey();
        if (app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStartup)
        {
            await app.MigrateAsync();
        }

        await app.RecordPolicyAsync();
    }

    /// <summary>Stores the configured policy as the first version when none is stored, and scores under the active one.</summary>
    public static async Task RecordPolicyAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<Features.Policies.PolicyBootstrap>().RecordRunningPolicyAsync(CancellationToken.None);
    }

    private static Exception Innermost(Exception exception) => exception.InnerException is { } inner ? Innermost(inner) : exception;

    /// <summary>
    /// Applies pending migrations. EF Core takes a database lock while migrating, so replicas (or a hook
    /// Job and a replica) starting together are safe.
    /// </summary>
    public static async Task MigrateAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        try
        {
            await db.Database.MigrateAsync();
        }
        catch (Exception exception) when (DatabaseErrors.IsUnavailable(exception))
        {
            throw new InvalidConfigurationException(
                $"ConnectionStrings:Scoring: the database cannot be reached or refused the migration for now ({Innermost(exception).Message})", exception);
        }

        if (db.Database.IsSqlite())
        {
            // Write-ahead logging lets readers proceed while one writer commits.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
    }
}
