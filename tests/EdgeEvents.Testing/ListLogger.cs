using Microsoft.Extensions.Logging;

namespace EdgeEvents.Testing;

/// <summary>Keeps every log message, at every level; as a factory, every logger it creates is itself.</summary>
public sealed class ListLogger : ILogger, ILoggerFactory
{
    public List<(LogLevel Level, string Text)> Messages { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        lock (Messages) Messages.Add((logLevel, formatter(state, exception)));
    }

    /// <summary>The messages logged at <paramref name="level"/> so far.</summary>
    public List<string> At(LogLevel level)
    {
        lock (Messages) return Messages.Where(m => m.Level == level).Select(m => m.Text).ToList();
    }

    public ILogger CreateLogger(string categoryName) => this;
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}
