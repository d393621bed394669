using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Standings;

/// <summary>One change as the feed delivers it: where it sits, and what it is.</summary>
public sealed record FeedItem(Revision Revision, StandingChange Change);

/// <summary>
/// Told by the write path when it committed standing changes in this process, so the feed reader looks
/// at once instead of at its next poll, and the changes are counted.
/// </summary>
public sealed class StandingFeedSignal(ScoringMetrics metrics)
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Written(IReadOnlyList<StandingChange> changes)
    {
        metrics.StandingChanges(changes);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Waits for a write in this process, or <paramref name="timeout"/>, whichever comes first; true when a
    /// write ended the wait.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var elapsed = new CancellationTokenSource(timeout, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, elapsed.Token);
        try
        {
            await _wake.Reader.ReadAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed: look for other replicas' changes.
            return false;
        }
    }
}

/// <summary>
/// A watcher's place in the feed: the changes waiting to be sent to it, bounded. When they would exceed
/// the bound the watcher has fallen behind: the subscription ends (<see cref="FellBehind"/>) and takes
/// nothing more, so a stalled consumer holds neither memory nor the reader.
/// </summary>
public sealed class FeedSubscription
{
    private readonly Channel<FeedItem> _pending;
    private volatile bool _fellBehind;
    private readonly IReadOnlySet<string>? _users;

    internal FeedSubscription(IReadOnlySet<string>? users, int capacity, Revision from)
    {
        _users = users;
        From = from;
        _pending = Channel.CreateBounded<FeedItem>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
    }

    /// <summary>Every change after this revision reaches the subscription.</summary>
    public Revision From { get; }

    public ChannelReader<FeedItem> Pending => _pending.Reader;

    public bool FellBehind => _fellBehind;

    internal bool IsIdle => _pending.Reader.Count == 0;

    internal void Offer(FeedItem item)
    {
        if (FellBehind || (_users is not null && !_users.Contains(item.Change.UserId)))
        {
            return;
        }

        if (!_pending.Writer.TryWrite(item))
        {
            _fellBehind = true;
            _pending.Writer.TryComplete();
        }
    }
}

/// <summary>
/// The one reader of the feed in this process: it reads the database for new changes (after a local
/// write, at once or <see cref="ReadSpacing"/> after its previous read, whichever is later; otherwise every
/// Scoring:StandingFeedPollInterval for other replicas' writes) and hands
/// each to every watcher here, so watchers cost no query each. It reads only what no running transaction
/// can still precede (<see cref="StandingFeedQueries.ReadFeedAsync"/>), so it never skips a late commit.
/// </summary>
public sealed partial class StandingFeed(
    IServiceScopeFactory scopes, StandingFeedSignal signal, IOptions<ScoringOptions> options, TimeProvider time,
    ScoringMetrics metrics, ILogger<StandingFeed> logger) : BackgroundService
{
    private const int PageSize = 1000;

    /// <summary>How soon the reader looks again at changes a running transaction holds back.</summary>
    private static readonly TimeSpan HeldBackRetry = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The least time from one read to the next that a local write wakes (the poll interval is not
    /// stretched by it): the commits of a burst are handed out in one read, so each watcher wakes once for
    /// them rather than once per commit. Wall clock: pacing, not a business instant. It adds at most this
    /// much to a change's delivery (what it bought with a thousand watchers: tests/perf/PERFORMANCE.md).
    /// </summary>
    public static readonly TimeSpan ReadSpacing = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a watch waits for the reader's first read of the database.</summary>
    public static readonly TimeSpan StartBound = TimeSpan.FromSeconds(10);
    private readonly Lock _lock = new();
    private readonly List<FeedSubscription> _subscriptions = [];
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Revision _position;
    private double _lagSeconds;

    /// <summary>Everything at or below this revision has been read (and handed out).</summary>
    public Revision Position
    {
        get
        {
            lock (_lock)
            {
                return _position;
            }
        }
    }

    /// <summary>Seconds the next change to hand out (the first unread in revision order) has waited since it was written; 0 when caught up.</summary>
    public double LagSeconds => Volatile.Read(ref _lagSeconds);

    /// <summary>
    /// Subscribes to every change after the current position, once the reader has read the database; if it
    /// cannot (the database is down) within <see cref="StartBound"/>, the watch is UNAVAILABLE.
    /// </summary>
    public async Task<FeedSubscription> SubscribeAsync(IReadOnlySet<string>? users, CancellationToken cancellationToken)
    {
        try
        {
            await _started.Task.WaitAsync(StartBound, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new UnavailableException("The feed cannot be read now (the database is unavailable); retry later.");
        }

        lock (_lock)
        {
            var subscription = new FeedSubscription(users, options.Value.StandingWatchBuffer, _position);
            _subscriptions.Add(subscription);
            return subscription;
        }
    }

    public void Unsubscribe(FeedSubscription subscription)
    {
        lock (_lock)
        {
            _subscriptions.Remove(subscription);
        }
    }

    /// <summary>The revision a bookmark may name: the position, if nothing is waiting for this subscription.</summary>
    public Revision? BookmarkFor(FeedSubscription subscription)
    {
        lock (_lock)
        {
            return subscription.IsIdle ? _position : null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.ObserveFeedLag(() => LagSeconds);
        var interval = options.Value.StandingFeedPollInterval;
        var lastRead = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                lastRead = TimeProvider.System.GetTimestamp();
                switch (await ReadOnceAsync(stoppingToken))
                {
                    case Read.More:
                        continue;
                    case Read.HeldBack:
                        // Written but behind a transaction still running: looked at again shortly, on the
                        // wall clock (pacing, not a business instant), until that transaction ends.
                        await Task.Delay(HeldBackRetry, TimeProvider.System, stoppingToken);
                        continue;
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogReadFailed(exception);
            }

            // Woken by a local write soon after the last read: the rest of a burst's commits join this one.
            if (await signal.WaitAsync(interval, time, stoppingToken)
                && TimeProvider.System.GetElapsedTime(lastRead) is var since && since < ReadSpacing)
            {
                await Task.Delay(ReadSpacing - since, TimeProvider.System, stoppingToken);
            }
        }
    }

    private enum Read
    {
        /// <summary>Everything written has been handed out; wait for a write or the poll interval.</summary>
        CaughtUp,

        /// <summary>A full page: more is waiting now.</summary>
        More,

        /// <summary>Changes are written that a running transaction still holds back.</summary>
        HeldBack,
    }

    private async Task<Read> ReadOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        if (!_started.Task.IsCompleted)
        {
            // Watchers from now need nothing older than this; those from a revision read the rest themselves.
            var start = await db.ReadFeedAsync(new Revision(long.MaxValue, long.MaxValue), null, 0, cancellationToken);
            lock (_lock)
            {
                _position = start.Horizon;
            }

            _started.TrySetResult();
            return Read.CaughtUp;
        }

        var page = await db.ReadFeedAsync(Position, null, PageSize, cancellationToken);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            foreach (var entry in page.Entries)
            {
                var item = new FeedItem(Revision.Of(entry), entry.ToChange());
                foreach (var subscription in _subscriptions)
                {
                    subscription.Offer(item);
                }
            }

            var last = page.Entries.Count > 0 ? Revision.Of(page.Entries[^1]) : _position;
            var complete = page.Entries.Count < PageSize;
            _position = complete && page.Horizon > last ? page.Horizon : last;
            _subscriptions.RemoveAll(s => s.FellBehind);
        }

        // How long the next change to hand out has waited: 0 when the reader is caught up.
        var oldest = await db.OldestUnreadAsync(Position, cancellationToken);
        Volatile.Write(ref _lagSeconds, oldest is { } since ? Math.Max(0, (now - since).TotalSeconds) : 0);
        return page.Entries.Count == PageSize ? Read.More : oldest is not null ? Read.HeldBack : Read.CaughtUp;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the feed of standing changes failed; will retry")]
    private partial void LogReadFailed(Exception exception);
}
