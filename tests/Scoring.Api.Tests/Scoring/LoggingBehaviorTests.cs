using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Scores;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Each message's type and duration at Debug, never its contents; nothing at all above Debug.</summary>
public sealed class LoggingBehaviorTests
{
    [Fact]
    public async Task At_Debug_a_message_is_logged_by_its_type_and_duration_and_not_its_contents()
    {
        var logger = new FakeLogger<LoggingBehavior<GetScoreQuery, string>>();
        var behavior = new LoggingBehavior<GetScoreQuery, string>(logger, TimeProvider.System);

        var answer = await behavior.Handle(new GetScoreQuery("u-private", false), (_, _) => new ValueTask<string>("answer"), TestContext.Current.CancellationToken);

        Assert.Equal("answer", answer);
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.StartsWith("GetScoreQuery handled in", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("u-private", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_Debug_off_the_message_is_handed_straight_on_and_nothing_is_logged()
    {
        var logger = new FakeLogger<LoggingBehavior<GetScoreQuery, string>>();
        logger.ControlLevel(LogLevel.Debug, enabled: false);
        var behavior = new LoggingBehavior<GetScoreQuery, string>(logger, TimeProvider.System);
        var pending = new TaskCompletionSource<string>();

        var answer = behavior.Handle(new GetScoreQuery("u-1", false), (_, _) => new ValueTask<string>(pending.Task), TestContext.Current.CancellationToken).AsTask();
        pending.SetResult("answer");

        // The handler's own task, not one of the behaviour's: no state machine of its own.
        Assert.Same(pending.Task, answer);
        Assert.Equal("answer", await answer);
        Assert.Empty(logger.Collector.GetSnapshot());
    }
}
