using System.ComponentModel.DataAnnotations;

namespace Scoring.Api.Options;

/// <summary>gRPC transport settings.</summary>
public sealed class GrpcOptions
{
    public const string SectionName = "Grpc";

    /// <summary>The largest request accepted, in bytes; a larger one is refused with RESOURCE_EXHAUSTED before it is parsed.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxReceiveMessageSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Lets callers without a token use server reflection under Auth:Mode Jwt. Off by default: the
    /// service's shape is no secret, but nothing else answers strangers either.
    /// </summary>
    public bool AnonymousReflection { get; set; }
}
