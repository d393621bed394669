using System.Text.Json.Serialization;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>Source-generated serialisation of cache entries: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ScoreState))]
internal sealed partial class ScoreStateJsonContext : JsonSerializerContext;
