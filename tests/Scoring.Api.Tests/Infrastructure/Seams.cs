using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Scoring.Api.Infrastructure.Caching;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// A seam in the service's database traffic: runs <see cref="OnCommand"/> before every command (to hold
/// a writer at a chosen statement, or to make something happen just before it) and counts commits.
/// </summary>
public sealed class CommandHook : DbCommandInterceptor, IDbTransactionInterceptor
{
    private int _commits;

    /// <summary>Runs before each command; may wait, act or throw.</summary>
    public Func<DbCommand, Task>? OnCommand { get; set; }

    public int Commits => Volatile.Read(ref _commits);

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await RunAsync(command);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await RunAsync(command);
        return result;
    }

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        await RunAsync(command);
        return result;
    }

    Task IDbTransactionInterceptor.TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _commits);
        return Task.CompletedTask;
    }

    private Task RunAsync(DbCommand command) => OnCommand?.Invoke(command) ?? Task.CompletedTask;
}

/// <summary>The service's cache with writes that fail on demand, as an unreachable Redis makes them fail.</summary>
public sealed class FailingScoreCache(IScoreCache inner) : IScoreCache
{
    private volatile bool _failWrites;

    public bool FailWrites
    {
        get => _failWrites;
        set => _failWrites = value;
    }

    public ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken) =>
        inner.GetAsync(userIds, cancellationToken);

    public ValueTask<bool> SetAsync(string userId, ScoreState state, CancellationToken cancellationToken) =>
        FailWrites ? ValueTask.FromResult(false) : inner.SetAsync(userId, state, cancellationToken);

    public void Fill(string userId, ScoreState state, DateTimeOffset readStarted)
    {
        if (!FailWrites)
        {
            inner.Fill(userId, state, readStarted);
        }
    }
}
