using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>
/// One component's view of the pipeline: its name, the topic scheme, its own broker connection and its error reporter.
/// Each worker gets its own (keyed by component name), so several can share one process in the demo.
/// </summary>
public sealed class EdgeComponent : IAsyncDisposable
{
    public EdgeComponent(string name, TopicScheme topics, IMessageTransport transport, ILoggerFactory loggerFactory)
    {
        Name = name;
        Topics = topics;
        Transport = transport;
        Errors = new ErrorReporter(transport, topics, name, loggerFactory.CreateLogger($"EdgeEvents.{name}.errors"));
    }

    /// <summary>Component name: <c>detector</c>, <c>scene</c>, <c>llm</c>, <c>camera</c>, …</summary>
    public string Name { get; }
    public TopicScheme Topics { get; }
    public IMessageTransport Transport { get; }
    public ErrorReporter Errors { get; }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Errors.DisposeAsync();
        await Transport.DisposeAsync();
    }
}
