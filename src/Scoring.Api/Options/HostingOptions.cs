namespace Scoring.Api.Options;

/// <summary>Where the metrics endpoint listens and how long shutdown may take.</summary>
public sealed class HostingOptions
{
    /// <summary>The HTTP/1.1 port of <c>/metrics</c>, on the same interface as gRPC; 0 turns it off.</summary>
    public int MetricsPort { get; set; } = 9464;

    /// <summary>On SIGTERM, how long in-flight calls may take to finish before the process exits.</summary>
    public TimeSpan DrainTime { get; set; } = TimeSpan.FromSeconds(20);
}
