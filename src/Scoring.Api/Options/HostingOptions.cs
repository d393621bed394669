namespace Scoring.Api.Options;

/// <summary>Where the HTTP/JSON API and the metrics endpoint listen, and how long shutdown may take.</summary>
public sealed class HostingOptions
{
    /// <summary>
    /// The plain HTTP/1.1 port of the HTTP/JSON API (every RPC transcoded, and <c>/openapi/v1.json</c>), on
    /// the same interface as gRPC; 0 turns it off. Its own port because HTTP/1.1 and h2c (gRPC without TLS)
    /// cannot share one.
    /// </summary>
    public int HttpPort { get; set; } = 5081;

    /// <summary>The HTTP/1.1 port of <c>/metrics</c>, on the same interface as gRPC; 0 turns it off.</summary>
    public int MetricsPort { get; set; } = 9464;

    /// <summary>On SIGTERM, how long in-flight calls may take to finish before the process exits.</summary>
    public TimeSpan DrainTime { get; set; } = TimeSpan.FromSeconds(20);
}
