using Scoring.Perf;

// The harness's helpers; tests/perf/run.sh is the only caller.
return args switch
{
    ["ceiling", var url] => await CeilingServer.RunAsync(url),
    ["ceiling", var url, var redis, var key] => await CeilingServer.RunAsync(url, redis, key),
    ["frame", "get-score", var userId, var file] => Frames.Write(file, Frames.GetScore(userId)),
    ["frame", "get-scores", var prefix, var count, var file] => Frames.Write(file, Frames.GetScores(prefix, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture))),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Scoring.Perf ceiling <url>                                serve GetScore with a constant score
               Scoring.Perf ceiling <url> <redis> <key>                  the same, after reading field d of hash <key> from Redis
               Scoring.Perf frame get-score <user-id> <file>             write one framed GetScoreRequest
               Scoring.Perf frame get-scores <id-prefix> <count> <file>  write one framed GetScoresRequest for <prefix>0..<count-1>
        """);
    return 2;
}
