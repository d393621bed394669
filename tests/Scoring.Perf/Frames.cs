using System.Buffers.Binary;
using Google.Protobuf;
using Scoring.V1;

namespace Scoring.Perf;

/// <summary>
/// gRPC request bodies for h2load, which sends a file as the body of every request: each is one
/// length-prefixed message (no compression flag, 4-byte big-endian length, the protobuf bytes).
/// </summary>
public static class Frames
{
    public static GetScoreRequest GetScore(string userId) => new() { UserId = userId };

    public static GetScoresRequest GetScores(string prefix, int count)
    {
        var request = new GetScoresRequest();
        for (var i = 0; i < count; i++)
        {
            request.UserIds.Add($"{prefix}{i}");
        }

        return request;
    }

    public static int Write(string file, IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)body.Length);
        body.CopyTo(frame, 5);
        File.WriteAllBytes(file, frame);
        return 0;
    }
}
