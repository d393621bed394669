using System.Collections.Concurrent;
using Scoring.V1;

namespace Scoring.Faults.Tests.Load;

/// <summary>
/// Every event a scenario sent, by event id, and the answer that acknowledged it. An event that was
/// never acknowledged (its last attempt timed out or failed) may or may not be stored; an acknowledged
/// one must be, exactly once, with the violation id it was acknowledged with.
/// </summary>
public sealed class EventLedger
{
    private readonly ConcurrentDictionary<string, RecordViolationRequest> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _acknowledged = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _anomalies = new();

    public int SentCount => _sent.Count;

    public int AcknowledgedCount => _acknowledged.Count;

    public IReadOnlyDictionary<string, RecordViolationRequest> Sent => _sent;

    /// <summary>Acknowledged event id → the violation id the service answered with.</summary>
    public IReadOnlyDictionary<string, string> Acknowledged => _acknowledged;

    /// <summary>Answers that contradict the request they answer.</summary>
    public IEnumerable<string> Anomalies => _anomalies;

    public void Sending(RecordViolationRequest request)
    {
        if (!_sent.TryAdd(request.EventId, request))
        {
            throw new InvalidOperationException($"Event id {request.EventId} was generated twice.");
        }
    }

    /// <summary>Records an OK answer; <paramref name="attempt"/> counts from 0.</summary>
    public void Acknowledge(RecordViolationRequest request, RecordViolationResponse response, int attempt, string process)
    {
        var violation = response.Violation;
        if (violation is null || violation.EventId != request.EventId || violation.Source != request.Source || violation.UserId != request.UserId)
        {
            _anomalies.Enqueue($"{process} acknowledged event {request.EventId} (user {request.UserId}) with violation " +
                $"{violation?.ViolationId ?? "<none>"} of event {violation?.EventId ?? "<none>"}, user {violation?.UserId ?? "<none>"}");
            return;
        }

        // Only a retry may find the event already stored: a first attempt answered "duplicate" means the
        // service matched it to something this suite never sent.
        if (response.Duplicate && attempt == 0)
        {
            _anomalies.Enqueue($"{process} answered duplicate=true to the first attempt of event {request.EventId} (user {request.UserId})");
        }

        if (_acknowledged.TryGetValue(request.EventId, out var earlier) && earlier != violation.ViolationId)
        {
            _anomalies.Enqueue($"event {request.EventId} was acknowledged as violation {earlier} and again as {violation.ViolationId}");
        }

        _acknowledged[request.EventId] = violation.ViolationId;
    }
}
