using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.IdentityModel.Tokens;
using Scoring.Api.Options;

namespace Scoring.Api.Security;

/// <summary>Authentication, per-role authorization and per-caller rate limits, on ASP.NET Core's own stack.</summary>
public static partial class SecurityExtensions
{
    public const string RateLimitPolicy = "per-caller";

    // One factory per rule, made once: a lambda capturing the rule would be allocated on every call.
    private static readonly ConditionalWeakTable<RateLimitRule, Func<string, RateLimiter>> Limiters = new();

    public static AuthMode AddScoringSecurity(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        // Unset means None in Development; anywhere else AuthOptionsValidator stops start-up before a call is served.
        var mode = options.Mode ?? AuthMode.None;
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        services.AddHttpContextAccessor();
        services.AddScoped<Caller>();

        if (mode == AuthMode.Jwt)
        {
            services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
                .AddJwtBearer(jwt => ConfigureJwt(jwt, options, builder.Environment.IsDevelopment()));
            services.AddSingleton<IAuthorizationMiddlewareResultHandler, CallRefusals>();
        }
        else
        {
            // No scheme: every caller is anonymous, and the policies below let anonymous callers through.
            services.AddAuthentication();
        }

        services.AddAuthorization(authorization =>
        {
            foreach (var (policy, roles) in ScoringPolicies.RolesByPolicy)
            {
                authorization.AddPolicy(policy, rule =>
                {
                    if (mode == AuthMode.None)
                    {
                        rule.RequireAssertion(_ => true);
                        return;
                    }

                    rule.RequireAuthenticatedUser().AddRequirements(new AnyRoleRequirement(roles));
                });
            }

            // Anything mapped without a policy is denied to everyone, so a forgotten policy fails closed.
            authorization.FallbackPolicy = mode == AuthMode.None
                ? new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build()
                : new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireAssertion(_ => false).Build();
        });

        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = RejectAsResourceExhausted;
            limiter.AddPolicy(RateLimitPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
                var (partition, rule) = PartitionFor(context, limits);
                return RateLimitPartition.Get(partition, LimiterFor(rule));
            });
        });

        return mode;
    }

    /// <summary>The order matters: who is calling, what they may call, then how often.</summary>
    public static WebApplication UseScoringSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Warns at every start while anonymous access is allowed outside Development.</summary>
    public static void WarnIfAnonymous(this WebApplication app, AuthMode mode)
    {
        if (mode == AuthMode.None && !app.Environment.IsDevelopment())
        {
            LogAnonymous(app.Logger, app.Environment.EnvironmentName);
        }
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, AuthOptions options, bool development)
    {
        // An authority over plain HTTP only in Development (a provider on the developer's machine).
        jwt.RequireHttpsMetadata = !development;
        // Keep claim names as issued (sub, azp, roles, scope): identity binding reads them.
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters.ValidAudience = options.Audience;
        jwt.TokenValidationParameters.ValidateAudience = true;
        jwt.TokenValidationParameters.ValidateLifetime = true;
        jwt.TokenValidationParameters.ClockSkew = TimeSpan.FromSeconds(30);

        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            jwt.Authority = options.Authority;
            if (!string.IsNullOrWhiteSpace(options.Issuer))
            {
                jwt.TokenValidationParameters.ValidIssuer = options.Issuer;
            }

            return;
        }

        jwt.TokenValidationParameters.ValidIssuer = options.Issuer;
        jwt.TokenValidationParameters.ValidateIssuer = true;
        jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(options.SigningKey!));
        jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
    }

    /// <summary>
    /// A token bucket per caller. Not replenished by a timer of its own: the partitioned limiter's one timer
    /// replenishes every bucket, as <see cref="RateLimitPartition.GetTokenBucketLimiter{TKey}"/> arranges.
    /// </summary>
    private static Func<string, RateLimiter> LimiterFor(RateLimitRule rule) => Limiters.GetValue(rule, static rule =>
    {
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = rule.Burst,
            TokensPerPeriod = Math.Max(rule.PermitsPerSecond, 1),
            ReplenishmentPeriod = rule.PermitsPerSecond > 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromDays(1),
            QueueLimit = 0,
            AutoReplenishment = false,
        };
        return _ => new TokenBucketRateLimiter(options);
    });

    /// <summary>The caller's bucket: its client id with its most generous role, or its address when anonymous.</summary>
    private static (string Partition, RateLimitRule Rule) PartitionFor(HttpContext context, RateLimitOptions limits)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            return ($"anonymous:{context.Connection.RemoteIpAddress}", limits.Anonymous);
        }

        var caller = user.FindFirst("azp")?.Value ?? user.FindFirst("client_id")?.Value ?? user.FindFirst("sub")?.Value ?? "unknown";
        var roles = ScoringRoles.Of(user);
        RateLimitRule? rule = null;
        Consider(ScoringRoles.Reader, limits.Reader);
        Consider(ScoringRoles.Writer, limits.Writer);
        Consider(ScoringRoles.Reviewer, limits.Reviewer);
        Consider(ScoringRoles.Admin, limits.Admin);
        Consider(ScoringRoles.Auditor, limits.Auditor);
        return ($"caller:{caller}", rule ?? limits.Anonymous);

        // The most generous rule among the caller's roles; the first listed wins a tie.
        void Consider(string role, RateLimitRule candidate)
        {
            if (roles.Contains(role) && (rule is null || candidate.PermitsPerSecond > rule.PermitsPerSecond))
            {
                rule = candidate;
            }
        }
    }

    /// <summary>
    /// RESOURCE_EXHAUSTED, which gRPC clients read as "back off" (a bare HTTP 429 reaches them as UNAVAILABLE,
    /// which they retry at once); HTTP 429 on the HTTP/JSON port. Either way with Retry-After when known.
    /// </summary>
    private static ValueTask RejectAsResourceExhausted(OnRejectedContext context, CancellationToken cancellationToken)
    {
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new ValueTask(Refusal.WriteAsync(context.HttpContext, Google.Rpc.Code.ResourceExhausted, StatusCodes.Status429TooManyRequests, "Rate limit exceeded; retry later."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Authentication is OFF in the {Environment} environment (Auth:Mode=None, Auth:AllowAnonymous=true): every caller has every role")]
    private static partial void LogAnonymous(ILogger logger, string environment);
}

/// <summary>The authentication mode the service resolved at start-up.</summary>
public sealed record SecuritySettings(AuthMode Mode);
