namespace Scoring.Api.Features.Policies;

/// <summary>Wakes this replica's <see cref="PolicyJobRunner"/> when a job is asked for here, so it starts at once rather than at the next poll.</summary>
public sealed class PolicyJobSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next <see cref="Wake"/>; take it before looking for work, so a wake during the look is not missed.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public void Wake() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
