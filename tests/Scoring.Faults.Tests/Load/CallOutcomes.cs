using System.Collections.Concurrent;
using Grpc.Core;

namespace Scoring.Faults.Tests.Load;

/// <summary>How every call of a scenario ended, counted per method and status.</summary>
public sealed class CallOutcomes
{
    /// <summary>A status a server never sent: the client gave it when the connection broke mid-call (kill -9).</summary>
    public const string ConnectionLost = "NO_ANSWER(connection lost)";

    private const int SampleLimit = 5;

    private readonly ConcurrentDictionary<(string Method, string Status), long> _counts = new();
    private readonly ConcurrentQueue<string> _internalSamples = new();
    private int _sampled;

    /// <summary>Calls a server answered with INTERNAL or UNKNOWN: an exception it did not map.</summary>
    public long Internal => _counts.Where(c => c.Key.Status is "INTERNAL" or "UNKNOWN").Sum(c => c.Value);

    public void Ok(string method) => _counts.AddOrUpdate((method, "OK"), 1, (_, n) => n + 1);

    /// <summary>Counts a failed call and tells whether the server answered it (rather than the connection failing).</summary>
    public void Failed(string method, RpcException exception)
    {
        var label = Label(exception);
        _counts.AddOrUpdate((method, label), 1, (_, n) => n + 1);
        if (label is "INTERNAL" or "UNKNOWN" && Interlocked.Increment(ref _sampled) <= SampleLimit)
        {
            // What the answer said, and whether the client made it up (a debug exception) or a server sent it.
            var debug = exception.Status.DebugException is { } cause ? $"; client-side {cause.GetType().Name}: {cause.Message}" : "; from the server's trailers";
            _internalSamples.Enqueue($"{method} {label} \"{exception.Status.Detail}\"{debug}");
        }
    }

    /// <summary>The first few INTERNAL or UNKNOWN answers, each with its detail and where it came from.</summary>
    public IReadOnlyCollection<string> InternalSamples => _internalSamples;

    /// <summary>
    /// Whether the same request should be sent again: the server was unreachable or too slow, or the
    /// connection broke before an answer. A server's own answer (INTERNAL included) is final.
    /// </summary>
    public static bool IsRetryable(RpcException exception) =>
        exception.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded || IsConnectionLost(exception);

    /// <summary>"Method STATUS=n, ..." lines, one per method.</summary>
    public IEnumerable<string> Describe() =>
        _counts.GroupBy(c => c.Key.Method).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {string.Join(", ", g.OrderBy(c => c.Key.Status, StringComparer.Ordinal).Select(c => $"{c.Key.Status}={c.Value}"))}");

    /// <summary>"Method: INTERNAL=n" for each method a server answered with INTERNAL or UNKNOWN.</summary>
    public string DescribeInternal() => string.Join(", ", _counts
        .Where(c => c.Key.Status is "INTERNAL" or "UNKNOWN")
        .OrderBy(c => c.Key.Method, StringComparer.Ordinal)
        .Select(c => $"{c.Key.Method} {c.Key.Status}={c.Value}"));

    public void AddTo(CallOutcomes total)
    {
        foreach (var (key, count) in _counts)
        {
            total._counts.AddOrUpdate(key, count, (_, n) => n + count);
        }

        foreach (var sample in _internalSamples.Take(SampleLimit - total._internalSamples.Count))
        {
            total._internalSamples.Enqueue(sample);
        }
    }

    private static string Label(RpcException exception) =>
        IsConnectionLost(exception) ? ConnectionLost : ToProtoName(exception.StatusCode);

    // Grpc.Net.Client reports a broken connection as INTERNAL/UNKNOWN with the client-side exception
    // attached; a status that came from a server's trailers never carries one.
    private static bool IsConnectionLost(RpcException exception) =>
        exception.StatusCode is StatusCode.Internal or StatusCode.Unknown
        && exception.Status.DebugException is HttpRequestException or IOException;

    private static string ToProtoName(StatusCode code) => code switch
    {
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.DataLoss => "DATA_LOSS",
        _ => code.ToString().ToUpperInvariant(),
    };
}
