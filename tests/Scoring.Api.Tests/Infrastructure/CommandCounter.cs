using System.Data.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// Counts the SQL commands the service sends while serving calls, to prove a cache hit asks the
/// database nothing. Background work (cache repair) runs outside any call and is not counted.
/// </summary>
public sealed class CommandCounter : DbCommandInterceptor, IStartupFilter
{
    private static readonly AsyncLocal<bool> ServingCall = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Runs <paramref name="read"/> until one run asks the database nothing (bounded). A write whose cache
    /// write did not reach Redis in time (a Redis Cluster replica that missed its WAIT on a loaded machine)
    /// leaves its user read from the database until Redis takes a later write of it, which the read's own
    /// fill makes in the background. A service that never caches never gets a run without commands: that
    /// fails here.
    /// </summary>
    public async Task UntilCachedAsync(Func<Task> read)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        for (var attempt = 0; attempt < 250; attempt++)
        {
            var before = Count;
            await read();
            if (Count == before)
            {
                return;
            }

            await poll.WaitForNextTickAsync(TestContext.Current.CancellationToken);
        }

        Assert.Fail("no read was answered from the cache within 250 tries");
    }

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, call) =>
        {
            ServingCall.Value = true;
            await call(context);
        });
        next(app);
    };

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Counted();
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Counted();
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Counted();
        return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
    }

    private void Counted()
    {
        if (ServingCall.Value)
        {
            Interlocked.Increment(ref _count);
        }
    }
}
