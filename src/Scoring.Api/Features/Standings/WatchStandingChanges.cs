using System.Threading.Channels;
using FluentValidation;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Standings;

/// <summary>Watch the feed from a revision (null: from now), for some users (empty: all).</summary>
public sealed record WatchStandingChangesQuery(string? FromRevision, IReadOnlyList<string> UserIds);

public sealed class WatchStandingChangesQueryValidator : AbstractValidator<WatchStandingChangesQuery>
{
    public WatchStandingChangesQueryValidator()
    {
        RuleFor(q => q.FromRevision).Revision();
        RuleFor(q => q.UserIds).UserFilter();
        RuleForEach(q => q.UserIds).UserId();
    }
}

/// <summary>What a watch sends: a change, or a bookmark (nothing more up to this revision).</summary>
public abstract record WatchEvent
{
    /// <param name="MoreFollows">
    /// Another change is sent right after this one: the transport may hold this one back to send both
    /// together (one flush for a run of changes); the last of a run never has it.
    /// </param>
    /// <param name="Shared">
    /// A live change from the shared reader: the same item goes to every watcher in this process, so the
    /// transport may encode it once for all of them. A change read back from the database is this watcher's own.
    /// </param>
    public sealed record Change(FeedItem Item, bool MoreFollows = false, bool Shared = false) : WatchEvent;

    public sealed record Bookmark(Revision Revision) : WatchEvent;
}

/// <summary>The revision asked for is older than retention keeps; <see cref="Oldest"/> is where the feed now starts.</summary>
public sealed class FeedCompactedException(Revision oldest)
    : Exception($"revision is older than the feed keeps; list scores again and watch from {oldest}")
{
    public Revision Oldest { get; } = oldest;
}

/// <summary>
/// The revision asked for is beyond anything this feed has written: it comes from another database (a
/// restore into a new cluster restarts transaction ids) or was made up. <see cref="Current"/> is where the feed is.
/// </summary>
public sealed class RevisionAheadException(Revision current)
    : Exception($"revision is ahead of everything this feed has written (not one this service gave, or one from another database); list scores again and watch from {current}")
{
    public Revision Current { get; } = current;
}

/// <summary>The watcher fell further behind than its buffer; <see cref="LastDelivered"/> is where to resume.</summary>
public sealed class WatcherFellBehindException(Revision lastDelivered)
    : Exception($"the watcher fell too far behind; resume from {lastDelivered}")
{
    public Revision LastDelivered { get; } = lastDelivered;
}

/// <summary>
/// One watch of the feed. From a revision: the changes after it are read from the database until the
/// watch reaches the shared reader (<see cref="StandingFeed"/>), then it subscribes and bridges the gap
/// between where it read to and where its subscription starts, so every change is sent exactly once, in
/// revision order. From now: a bookmark with the current revision first. While idle: a bookmark every
/// 10 seconds. A consumer that stops reading is ended once its buffer fills.
/// </summary>
public sealed class StandingWatcher(
    ScoringDbContext db, StandingFeed feed, IValidator<WatchStandingChangesQuery> validator, TimeProvider time, IHostApplicationLifetime lifetime)
{
    public static readonly TimeSpan BookmarkInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most changes held back for one flush: a consumer that stopped reading then holds at most this
    /// many unflushed beyond its buffer, since only a flush waits for the connection's flow control.
    /// </summary>
    private const int MaxRun = 64;
    private const int CatchUpPage = 500;

    public async Task RunAsync(WatchStandingChangesQuery query, Func<WatchEvent, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        await validator.ValidateAndThrowAsync(query, cancellationToken);
        // A stopping replica ends its watches at once (UNAVAILABLE: watch again elsewhere from the last
        // revision) rather than holding shutdown for the whole drain time.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            await WatchAsync(query, send, watching.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new UnavailableException("The service is shutting down; watch again from the last revision received, on another replica.");
        }
    }

    private async Task WatchAsync(WatchStandingChangesQuery query, Func<WatchEvent, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        IReadOnlySet<string>? users = query.UserIds.Count > 0 ? query.UserIds.ToHashSet(StringComparer.Ordinal) : null;
        Revision? from = string.IsNullOrEmpty(query.FromRevision) ? null : ParsedRevision(query.FromRevision);
        var last = from ?? Revision.Start;
        if (from is not null)
        {
            last = await SendFromDatabaseAsync(last, null, users, send, cancellationToken);
        }

        var subscription = await feed.SubscribeAsync(users, cancellationToken);
        try
        {
            if (from is null)
            {
                last = subscription.From;
                await send(new WatchEvent.Bookmark(last), cancellationToken);
            }
            else if (last < subscription.From)
            {
                last = await SendFromDatabaseAsync(last, subscription.From, users, send, cancellationToken);
            }

            await SendLiveAsync(subscription, last, send, cancellationToken);
        }
        finally
        {
            feed.Unsubscribe(subscription);
        }
    }

    private static Revision ParsedRevision(string text) =>
        Revision.TryParse(text, out var revision) ? revision : throw new InvalidOperationException("validated above");

    /// <summary>Sends the stored changes after <paramref name="last"/> (up to <paramref name="upTo"/> if given); returns the revision reached.</summary>
    private async Task<Revision> SendFromDatabaseAsync(
        Revision last, Revision? upTo, IReadOnlySet<string>? users, Func<WatchEvent, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await db.ReadFeedAsync(last, users, CatchUpPage, cancellationToken);
            if (page.LostAfter(last))
            {
                throw new FeedCompactedException(page.Compacted);
            }

            if (last > page.Horizon)
            {
                throw new RevisionAheadException(page.Horizon);
            }

            foreach (var entry in page.Entries)
            {
                var revision = Revision.Of(entry);
                if (upTo is { } end && revision > end)
                {
                    return end;
                }

                await send(new WatchEvent.Change(new FeedItem(revision, entry.ToChange())), cancellationToken);
                last = revision;
            }

            if (page.Entries.Count < CatchUpPage)
            {
                // Everything up to the horizon is sent (a filtered page is complete for the other users too).
                var reached = page.Horizon > last ? page.Horizon : last;
                return upTo is { } bound && reached > bound ? bound : reached;
            }
        }
    }

    /// <summary>
    /// Sends each change from the subscription, and a bookmark whenever the bookmark interval passes with
    /// none. A consumer that stopped reading stalls a write on the connection's flow control; its buffer
    /// then overflows and the subscription ends, so what it holds stays bounded, and the consumer, once it
    /// reads again, gets what was written and then RESOURCE_EXHAUSTED naming the last of it.
    /// </summary>
    private async Task SendLiveAsync(
        FeedSubscription subscription, Revision last, Func<WatchEvent, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        // One idle timer for the whole watch, restarted on each wait: a wake costs no new timer or token source.
        using var idle = new IdleTimer(time, cancellationToken);
        while (true)
        {
            var run = 0;
            while (subscription.Pending.TryRead(out var item))
            {
                if (item.Revision > last)
                {
                    // Held back by the transport only when the next one is certain to be sent right after it
                    // (one reader, revisions in order), and never more than a run's worth.
                    var moreFollows = ++run % MaxRun != 0 && subscription.Pending.TryPeek(out var next) && next.Revision > item.Revision;
                    await send(new WatchEvent.Change(item, moreFollows, Shared: true), cancellationToken);
                    last = item.Revision;
                }
            }

            if (subscription.FellBehind)
            {
                throw new WatcherFellBehindException(last);
            }

            if (!await idle.WaitAsync(subscription.Pending, BookmarkInterval) && feed.BookmarkFor(subscription) is { } bookmark)
            {
                last = bookmark > last ? bookmark : last;
                await send(new WatchEvent.Bookmark(last), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Waits for a watcher's next change, up to an interval on the injected clock. The token source and
    /// its timer live as long as the watch and are restarted per wait; only an interval that passed (a
    /// bookmark, at most one per interval) costs a new one.
    /// </summary>
    private sealed class IdleTimer : IDisposable
    {
        private readonly TimeProvider _time;
        private readonly CancellationToken _cancellation;
        private CancellationTokenSource _elapsed;
        private CancellationTokenRegistration _link;

        public IdleTimer(TimeProvider time, CancellationToken cancellation)
        {
            _time = time;
            _cancellation = cancellation;
            (_elapsed, _link) = Start(time, cancellation);
        }

        /// <summary>True when a change is waiting (or the subscription ended); false when the interval passed with none.</summary>
        public async ValueTask<bool> WaitAsync(ChannelReader<FeedItem> pending, TimeSpan interval)
        {
            if (_elapsed.IsCancellationRequested)
            {
                Dispose();
                (_elapsed, _link) = Start(_time, _cancellation);
            }

            _elapsed.CancelAfter(interval);
            try
            {
                // False when the subscription ended (the watcher fell behind): the loop then says so.
                await pending.WaitToReadAsync(_elapsed.Token);
                _elapsed.CancelAfter(Timeout.InfiniteTimeSpan);
                return true;
            }
            catch (OperationCanceledException) when (!_cancellation.IsCancellationRequested)
            {
                return false;
            }
        }

        public void Dispose()
        {
            _link.Dispose();
            _elapsed.Dispose();
        }

        // A source on the injected clock that the call's own cancellation ends as well. Built with the clock
        // (not linked to the call's token), so CancelAfter keeps using that clock's timer: tests move it.
        private static (CancellationTokenSource, CancellationTokenRegistration) Start(TimeProvider time, CancellationToken cancellation)
        {
            var elapsed = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            return (elapsed, cancellation.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), elapsed));
        }
    }
}
