using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scoring.Api.Options;

namespace Scoring.Api.Extensions;

/// <summary>Listening (gRPC on HTTP/2, metrics on HTTP/1.1) and graceful shutdown.</summary>
public static class HostingExtensions
{
    public const string DefaultUrl = "http://localhost:5080";

    /// <summary>Configuration keys: Hosting:MetricsPort and Hosting:DrainTime.</summary>
    public const string SectionName = "Hosting";

    public static HostingOptions AddScoringHosting(this WebApplicationBuilder builder)
    {
        var hosting = builder.Configuration.GetSection(SectionName).Get<HostingOptions>() ?? new HostingOptions();

        // --urls / ASPNETCORE_URLS keep choosing the gRPC address; the metrics endpoint joins them on the
        // same interface, and each endpoint speaks the protocol its port calls for.
        var urls = (builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : DefaultUrl)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        if (hosting.MetricsPort > 0)
        {
            var grpc = BindingAddress.Parse(urls[0]);
            urls.Add($"http://{grpc.Host}:{hosting.MetricsPort}");
        }

        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            listen.Protocols = hosting.MetricsPort > 0 && listen.IPEndPoint?.Port == hosting.MetricsPort
                ? HttpProtocols.Http1
                : HttpProtocols.Http2));

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = hosting.DrainTime);
        builder.Services.AddSingleton(hosting);
        return hosting;
    }
}

/// <summary>Readiness fails as soon as shutdown begins, so load balancers stop sending new calls while in-flight ones drain.</summary>
public sealed class ShutdownHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy());
}
