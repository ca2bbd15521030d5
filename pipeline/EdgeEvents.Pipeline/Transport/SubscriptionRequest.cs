namespace EdgeEvents.Pipeline.Transport;

/// <summary>What to subscribe to and how. <see cref="Filter"/> uses MQTT wildcards (<c>+</c>, <c>#</c>).</summary>
public sealed record SubscriptionRequest(string Filter)
{
    public Delivery Delivery { get; init; } = Delivery.AtLeastOnce;
    /// <summary>
    /// Load-sharing group: MQTT 5 shared subscription <c>$share/{Group}/…</c>; NATS queue group. Null: every
    /// subscriber gets every message.
    /// </summary>
    public string? Group { get; init; }
    /// <summary>Bounded channel size. Default 256.</summary>
    public int Capacity { get; init; } = 256;
    /// <summary>
    /// Default <see cref="OverloadPolicy.Wait"/>; frames use <see cref="OverloadPolicy.DropOldest"/>.
    /// </summary>
    public OverloadPolicy Overload { get; init; } = OverloadPolicy.Wait;
    /// <summary>
    /// Acknowledge only when the handler calls <see cref="ReceivedMessage.AckAsync"/>. Default false: acknowledged on
    /// receipt.
    /// </summary>
    public bool ManualAck { get; init; }
    /// <summary>
    /// MQTT only: keep the retain flag of messages forwarded live (<see cref="ReceivedMessage.Retained"/> true for a
    /// retained publish, not only for the stored copy sent at subscribe time), for a bridge that re-publishes them.
    /// Default false.
    /// </summary>
    public bool RetainAsPublished { get; init; }
    /// <summary>
    /// NATS only: consume through a JetStream durable consumer of this name (the stream must cover the subject); when
    /// logged in, the consumer is named after the user and subject instead, so permissions can pin it to the user.
    /// MQTT gets durability from the persistent session instead.
    /// </summary>
    public string? Durable { get; init; }
    /// <summary>
    /// Suppress a message whose <see cref="ReceivedMessage.MessageId"/> this subscription already delivered within the
    /// window below (redeliveries after a lost acknowledgement, a reconnect or a publisher's outbox resend), so
    /// at-least-once delivery looks exactly-once to the handler. Applies to <see cref="Delivery.AtLeastOnce"/>
    /// subscriptions only. Default true.
    /// </summary>
    public bool Deduplicate { get; init; } = true;
    /// <summary>De-duplication window: how many recent ids are remembered. Default 10,000.</summary>
    public int DeduplicationCount { get; init; } = 10_000;
    /// <summary>De-duplication window: how long an id is remembered. Default 1 hour.</summary>
    public TimeSpan DeduplicationAge { get; init; } = TimeSpan.FromHours(1);
}
