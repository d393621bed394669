namespace Scoring.Api.Features.Common;

/// <summary>The wait between two rounds of a background service.</summary>
public static class Rounds
{
    /// <summary>
    /// Waits one <paramref name="interval"/> of <paramref name="time"/>; false once stopping. A one-shot
    /// wait rather than a <see cref="PeriodicTimer"/>: a clock moved far ahead at once (a test's fake clock
    /// advanced by a year) wakes the service once, not once per interval that passed.
    /// </summary>
    public static async Task<bool> WaitNextAsync(this TimeProvider time, TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(interval, time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
