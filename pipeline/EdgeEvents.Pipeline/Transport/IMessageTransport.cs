using System.Threading.Channels;

namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// Publish/subscribe over one broker connection. Implementations reconnect by themselves, resubscribe after a
/// reconnect and enforce the maximum payload size on receive.
/// </summary>
public interface IMessageTransport : IAsyncDisposable
{
    /// <summary><c>mqtt</c> or <c>nats</c>; the OpenTelemetry <c>messaging.system</c>.</summary>
    string System { get; }

    bool IsConnected { get; }

    /// <summary>Raised (on a pool thread) whenever the connection comes up or goes down.</summary>
    event Action<bool>? ConnectionChanged;

    /// <summary>
    /// Raised when a received message is refused before delivery; the host reports it on the error topic.
    /// </summary>
    event Action<RejectedMessage>? Rejected;

    /// <summary>Connects, retrying with backoff until connected or cancelled.</summary>
    Task ConnectAsync(CancellationToken ct);

    /// <summary>
    /// Publishes one message. At-least-once messages wait for the broker's acknowledgement (and, while the link is
    /// down, for the reconnect); at-most-once messages published while disconnected are dropped and counted.
    /// </summary>
    ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct);

    /// <summary>Subscribes; messages arrive on the returned subscription's bounded channel.</summary>
    Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct);

    /// <summary>
    /// Publishes a request and waits for the first reply (MQTT 5 response topic + correlation data; NATS
    /// request/reply).
    /// </summary>
    Task<ReceivedMessage> RequestAsync(OutgoingMessage request, TimeSpan timeout, CancellationToken ct);
}

public interface IMessageSubscription : IAsyncDisposable
{
    SubscriptionRequest Request { get; }
    ChannelReader<ReceivedMessage> Messages { get; }
    /// <summary>Messages dropped by the overload policy since the subscription started.</summary>
    long Dropped { get; }
    /// <summary>Redelivered messages suppressed by de-duplication since the subscription started.</summary>
    long Duplicates => 0;
}

/// <summary>A received message the transport refused before delivery (e.g. over the size limit).</summary>
public sealed record RejectedMessage(string Topic, int PayloadBytes, string Kind, string Reason);
