using System.Threading.Channels;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Reliability;

namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// The bounded channel behind a subscription, with its overload policy and drop counter.
/// Shared by the MQTT and NATS transports.
/// </summary>
public sealed class SubscriptionChannel
{
    private readonly Channel<ReceivedMessage> _channel;
    private readonly string _system;
    private readonly Deduplicator? _deduplicator;
    private long _dropped;

    public SubscriptionChannel(SubscriptionRequest request, string system)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Capacity, 1);
        Request = request;
        _system = system;
        var options = new BoundedChannelOptions(request.Capacity)
        {
            FullMode = request.Overload switch
            {
                OverloadPolicy.DropOldest => BoundedChannelFullMode.DropOldest,
                OverloadPolicy.DropNewest => BoundedChannelFullMode.DropWrite,
                _ => BoundedChannelFullMode.Wait,
            },
            SingleWriter = false,
            SingleReader = false,
        };
        _channel = Channel.CreateBounded<ReceivedMessage>(options, OnDropped);
        if (request.Deduplicate && request.Delivery == Delivery.AtLeastOnce)
            _deduplicator = new Deduplicator(request.DeduplicationCount, request.DeduplicationAge, request.Filter);
    }

    public SubscriptionRequest Request { get; }
    public ChannelReader<ReceivedMessage> Reader => _channel.Reader;
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>
    /// Redelivered messages suppressed by de-duplication (<see cref="SubscriptionRequest.Deduplicate"/>).
    /// </summary>
    public long Duplicates => _deduplicator?.Duplicates ?? 0;

    /// <summary>
    /// Hands a message to the subscriber; waits for room only under <see cref="OverloadPolicy.Wait"/>. A duplicate is
    /// not handed over but acknowledged (when its original is).
    /// </summary>
    public ValueTask WriteAsync(ReceivedMessage message, CancellationToken ct)
    {
        if (_deduplicator is not null)
        {
            (var duplicate, message) = _deduplicator.Check(message);
            if (duplicate) return message.AckAsync(ct);
        }
        return Request.Overload == OverloadPolicy.Wait
            ? _channel.Writer.WriteAsync(message, ct)
            : WriteOrDrop(message);
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Counts a message the transport dropped before it reached the channel (core NATS: too many waiting for room).
    /// </summary>
    public void CountDropped()
    {
        Interlocked.Increment(ref _dropped);
        EdgeTelemetry.MessagesDropped.Add(1,
            new KeyValuePair<string, object?>("messaging.system", _system),
            new KeyValuePair<string, object?>("reason", "overload"),
            new KeyValuePair<string, object?>("filter", Request.Filter));
    }

    private ValueTask WriteOrDrop(ReceivedMessage message)
    {
        // With DropOldest/DropWrite TryWrite always succeeds unless completed; drops go through OnDropped.
        if (!_channel.Writer.TryWrite(message)) OnDropped(message);
        return ValueTask.CompletedTask;
    }

    private void OnDropped(ReceivedMessage message) => CountDropped();
}
