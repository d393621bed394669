using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Scoring.Api.Infrastructure.Telemetry;

/// <summary>OpenTelemetry metrics and traces; OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
public static class TelemetryExtensions
{
    public const string ServiceName = "scoring";

    /// <summary>The service's own spans (Redis calls); ASP.NET Core, gRPC and Npgsql bring theirs.</summary>
    public static readonly ActivitySource ActivitySource = new(ScoringMetrics.MeterName);

    // gRPC's status codes, boxed once rather than on every call.
    private static readonly object[] BoxedStatusCodes = [.. Enumerable.Range(0, 17).Select(code => (object)code)];

    public static WebApplicationBuilder AddScoringTelemetry(this WebApplicationBuilder builder)
    {
        // Log lines carry the trace and span ids of the call they belong to while traces are exported. With
        // none, no per-call Activity is built (appsettings.json turns off Hosting.Diagnostics, whose log
        // level alone would build one): log lines then carry the ids only where a span exists.
        builder.Logging.Configure(logging =>
            logging.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
                // Request rate, errors and durations, and connections. Not the routing or rate-limiter
                // meters: each adds measurements to every call (OpenTelemetry's aggregation was 5 % of
                // the service's CPU samples on cached reads) for little insight; rejections show as
                // RESOURCE_EXHAUSTED in the request metrics.
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                // Kestrel's count of requests queued for dispatch is two updates of one shared series per
                // call (3 % of the CPU samples of a near-copy read, contended between cores); dropped, it
                // is never enabled. The request metrics and active requests tell load and saturation.
                .AddView("kestrel.queued_requests", MetricStreamConfiguration.Drop)
                .AddRuntimeInstrumentation()
                .AddMeter(ScoringMetrics.MeterName)
                .AddMeter("Npgsql")
                .AddPrometheusExporter());

        // Spans only when something receives them: otherwise every call and every SQL command would
        // build and record an activity that is then thrown away.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation(aspNetCore =>
                        // Probes and scrapes would drown the traces that matter.
                    {
                        aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments("/grpc.health.v1.Health")
                            && !context.Request.Path.StartsWithSegments("/metrics");
                        // HTTP/JSON paths carry user ids: a trace keeps the route's pattern instead.
                        aspNetCore.EnrichWithHttpResponse = (activity, response) =>
                        {
                            if (response.HttpContext.GetEndpoint() is RouteEndpoint endpoint && endpoint.RoutePattern.RawText is { } route)
                            {
                                activity.SetTag("url.path", route);
                            }
                        };
                    })
                    .AddNpgsql()
                    .AddSource(ActivitySource.Name))
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// Adds the call's gRPC status (<c>rpc.grpc.status_code</c>, the code as a number) to ASP.NET Core's
    /// request metrics. A gRPC call answers HTTP 200 whatever its outcome, so without it
    /// <c>http.server.request.duration</c> cannot tell INTERNAL or UNAVAILABLE from OK. The status is in the
    /// trailers, or in the headers of a trailers-only answer (an error before any message, a refusal).
    /// </summary>
    public static IApplicationBuilder UseGrpcStatusInRequestMetrics(this IApplicationBuilder app) =>
        app.Use(static async (context, next) =>
        {
            await next(context);
            if (context.Features.Get<IHttpMetricsTagsFeature>() is not { MetricsDisabled: false } metrics)
            {
                return;
            }

            var status = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"] is { Count: > 0 } trailer
                ? trailer
                : context.Response.Headers["grpc-status"];
            if (int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                metrics.Tags.Add(new("rpc.grpc.status_code", code < BoxedStatusCodes.Length ? BoxedStatusCodes[code] : code));
            }
        });
}
