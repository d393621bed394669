using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scoring.Api.Options;

namespace Scoring.Api.Extensions;

/// <summary>Listening (gRPC on HTTP/2; the HTTP/JSON API and metrics on HTTP/1.1, each on its port) and graceful shutdown.</summary>
public static class HostingExtensions
{
    public const string DefaultUrl = "http://localhost:5080";

    /// <summary>Configuration keys: Hosting:HttpPort, Hosting:MetricsPort and Hosting:DrainTime.</summary>
    public const string SectionName = "Hosting";

    public static HostingOptions AddScoringHosting(this WebApplicationBuilder builder)
    {
        var hosting = builder.Configuration.GetSection(SectionName).Get<HostingOptions>() ?? new HostingOptions();

        // --urls / ASPNETCORE_URLS keep choosing the gRPC address; the HTTP/JSON and metrics endpoints join
        // them on the same interface, and each endpoint speaks the protocol its port calls for.
        var urls = (builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : DefaultUrl)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        var grpc = BindingAddress.Parse(urls[0]);
        var http1Ports = new[] { hosting.HttpPort, hosting.MetricsPort }.Where(port => port > 0).ToHashSet();
        CheckPorts(hosting, urls.Select(BindingAddress.Parse).Select(address => address.Port).ToHashSet());
        foreach (var port in http1Ports)
        {
            urls.Add($"http://{grpc.Host}:{port}");
        }

        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            listen.Protocols = listen.IPEndPoint is { } endpoint && http1Ports.Contains(endpoint.Port)
                ? HttpProtocols.Http1
                : HttpProtocols.Http2));

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = hosting.DrainTime);
        builder.Services.AddSingleton(hosting);
        return hosting;
    }

    /// <summary>Each listener needs a port of its own: one line naming the clash, rather than Kestrel's bind error.</summary>
    private static void CheckPorts(HostingOptions hosting, IReadOnlySet<int> grpcPorts)
    {
        foreach (var (name, port) in new[] { ("Hosting:HttpPort", hosting.HttpPort), ("Hosting:MetricsPort", hosting.MetricsPort) })
        {
            if (port is < 0 or > 65_535)
            {
                throw new InvalidConfigurationException($"{name} is {port}; it must be a TCP port (1-65535), or 0 to turn that listener off.");
            }

            if (port > 0 && grpcPorts.Contains(port))
            {
                throw new InvalidConfigurationException($"{name} is {port}, which the gRPC address (--urls) already uses; give it a port of its own.");
            }
        }

        if (hosting.HttpPort > 0 && hosting.HttpPort == hosting.MetricsPort)
        {
            throw new InvalidConfigurationException($"Hosting:HttpPort and Hosting:MetricsPort are both {hosting.HttpPort}; give each a port of its own.");
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
