using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Scoring.V1;

namespace Scoring.Perf;

/// <summary>
/// The gRPC ceiling: the same Kestrel and gRPC stack as the service, answering GetScore with a score
/// built once. Whatever the service spends beyond this is its own work (validation, cache, scoring).
/// </summary>
public static class CeilingServer
{
    public static async Task<int> RunAsync(string url, string? redis = null, string? key = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        if (redis is not null && key is not null)
        {
            builder.Services.AddSingleton(new RedisEntry(StackExchange.Redis.ConnectionMultiplexer.Connect(redis).GetDatabase(), key));
        }

        var app = builder.Build();
        if (redis is null || key is null)
        {
            app.MapGrpcService<ConstantScoring>();
        }
        else
        {
            app.MapGrpcService<RedisScoring>();
        }

        await app.RunAsync();
        return 0;
    }

    private sealed class ConstantScoring : ConductScoring.ConductScoringBase
    {
        // Shaped like a real answer, so both servers write responses of about the same size.
        public static readonly UserScore Score = new()
        {
            UserId = "bench-u0",
            Points = 12.5,
            Standing = Standing.Warned,
            ActiveViolations = 3,
            ComputedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
            PolicyVersion = "2026-01",
        };

        public override Task<UserScore> GetScore(GetScoreRequest request, ServerCallContext context) => Task.FromResult(Score);
    }

    private sealed record RedisEntry(StackExchange.Redis.IDatabase Database, string Key);

    /// <summary>
    /// The ceiling of a read through Redis: one HGET of the cached entry per call (the service's round
    /// trip, with nothing around it), then the same constant answer.
    /// </summary>
    private sealed class RedisScoring(RedisEntry entry) : ConductScoring.ConductScoringBase
    {
        public override async Task<UserScore> GetScore(GetScoreRequest request, ServerCallContext context)
        {
            var value = await entry.Database.HashGetAsync(entry.Key, "d");
            return value.HasValue ? ConstantScoring.Score : throw new RpcException(new Status(StatusCode.NotFound, "no entry"));
        }
    }
}
