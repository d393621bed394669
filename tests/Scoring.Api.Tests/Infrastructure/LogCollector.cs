using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>Keeps what the service logs, to assert on warnings it must give.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();
    private readonly ConcurrentBag<(Func<(LogLevel Level, string Message, Exception? Exception), bool> Match, TaskCompletionSource Seen)> _waiters = [];

    public IReadOnlyCollection<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Collector(this);

    /// <summary>Completes once an entry matching <paramref name="match"/> has been logged (before or after this call).</summary>
    public Task WaitForAsync(Func<(LogLevel Level, string Message, Exception? Exception), bool> match, TimeSpan within)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add((match, seen));
        if (_entries.Any(match))
        {
            seen.TrySetResult();
        }

        return seen.Task.WaitAsync(within);
    }

    private void Add((LogLevel Level, string Message, Exception? Exception) entry)
    {
        _entries.Enqueue(entry);
        foreach (var (match, seen) in _waiters)
        {
            if (match(entry))
            {
                seen.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector collector) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                collector.Add((logLevel, formatter(state, exception), exception));
            }
        }
    }
}
