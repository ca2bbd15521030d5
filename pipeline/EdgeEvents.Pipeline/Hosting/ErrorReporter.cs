using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>
/// Reports a rejected input or failed operation three ways: a structured log line, the <c>edge.errors</c> counter,
/// and an <see cref="ErrorEvent"/> on <c>{prefix}/errors/{component}</c>. Reporting never blocks the caller:
/// events queue in a bounded channel (oldest dropped) and a background loop publishes them.
/// </summary>
public sealed class ErrorReporter : IAsyncDisposable
{
    private readonly IMessageTransport _transport;
    private readonly TopicScheme _topics;
    private readonly ILogger _logger;
    private readonly Channel<ErrorEvent> _queue = Channel.CreateBounded<ErrorEvent>(
        new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publisher;
    private long _count;

    public ErrorReporter(IMessageTransport transport, TopicScheme topics, string component, ILogger logger)
    {
        _transport = transport;
        _topics = topics;
        Component = component;
        _logger = logger;
        _transport.Rejected += r => Report(r.Kind, r.Reason, r.Topic, r.PayloadBytes);
        _publisher = Task.Run(PublishLoopAsync);
    }

    public string Component { get; }

    /// <summary>Errors reported since start.</summary>
    public long Count => Interlocked.Read(ref _count);

    public void Report(string kind, string message, string? topic = null, int? payloadBytes = null,
        string? camera = null)
    {
        Interlocked.Increment(ref _count);
        EdgeTelemetry.Errors.Add(1, new KeyValuePair<string, object?>("component", Component),
            new KeyValuePair<string, object?>("kind", kind));
        _logger.LogWarning("Rejected {Kind} on {Topic} ({Bytes} bytes): {Reason}",
            kind, topic ?? "-", payloadBytes, message);
        _queue.Writer.TryWrite(new ErrorEvent
        {
            Component = Component, Kind = kind, Message = message, Topic = topic, PayloadBytes = payloadBytes,
            Camera = camera,
        });
    }

    private async Task PublishLoopAsync()
    {
        try
        {
            await foreach (var error in _queue.Reader.ReadAllAsync(_stop.Token))
            {
                try
                {
                    var payload = MessageCodec.Serialize(error, PayloadFormat.Json);
                    await _transport.PublishAsync(new OutgoingMessage(_topics.Errors(Component), payload)
                    {
                        ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce, MessageId = error.Id,
                    }, _stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogDebug(ex, "Could not publish error event {Id}", error.Id);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // Give queued errors a moment to go out, then stop.
        await Task.WhenAny(_publisher, Task.Delay(TimeSpan.FromSeconds(2)));
        await _stop.CancelAsync();
        await _publisher;
        _stop.Dispose();
    }
}
