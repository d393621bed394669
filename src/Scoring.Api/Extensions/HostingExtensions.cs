using System.Net;
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

        // --urls / ASPNETCORE_URLS keep choosing the gRPC address; Kestrel gets explicit endpoints so the
        // metrics port can speak HTTP/1.1 beside them.
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : DefaultUrl;
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            IPAddress? metricsAddress = null;
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var address = BindingAddress.Parse(url);
                var ip = Listen(kestrel, address.Host, address.Port, HttpProtocols.Http2);
                metricsAddress ??= ip;
            }

            if (hosting.MetricsPort > 0)
            {
                Listen(kestrel, metricsAddress?.ToString() ?? "localhost", hosting.MetricsPort, HttpProtocols.Http1);
            }
        });

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = hosting.DrainTime);
        builder.Services.AddSingleton(hosting);
        return hosting;
    }

    /// <summary>Listens on one address; returns the IP used, or null for localhost.</summary>
    private static IPAddress? Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen) => listen.Protocols = protocols;
        switch (host)
        {
            case "localhost":
                kestrel.ListenLocalhost(port, Configure);
                return null;
            case "*" or "+" or "0.0.0.0" or "[::]":
                kestrel.ListenAnyIP(port, Configure);
                return IPAddress.Any;
            default:
                var ip = IPAddress.Parse(host.Trim('[', ']'));
                kestrel.Listen(ip, port, Configure);
                return ip;
        }
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
