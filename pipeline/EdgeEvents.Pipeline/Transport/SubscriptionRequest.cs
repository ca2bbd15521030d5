namespace EdgeEvents.Pipeline.Transport;

/// <summary>What to subscribe to and how. <see cref="Filter"/> uses MQTT wildcards (<c>+</c>, <c>#</c>).</summary>
public sealed record SubscriptionRequest(string Filter)
{
    public Delivery Delivery { get; init; } = Delivery.AtLeastOnce;
    /// <summary>Load-sharing group: MQTT 5 shared subscription <c>$share/{Group}/…</c>; NATS queue group. Null: every subscriber gets every message.</summary>
    public string? Group { get; init; }
    /// <summary>Bounded channel size. Default 256.</summary>
    public int Capacity { get; init; } = 256;
    /// <summary>Default <see cref="OverloadPolicy.Wait"/>; frames use <see cref="OverloadPolicy.DropOldest"/>.</summary>
    public OverloadPolicy Overload { get; init; } = OverloadPolicy.Wait;
    /// <summary>Acknowledge only when the handler calls <see cref="ReceivedMessage.AckAsync"/>. Default false: acknowledged on receipt.</summary>
    public bool ManualAck { get; init; }
    /// <summary>
    /// NATS only: consume through a JetStream durable consumer of this name (the stream must cover the subject).
    /// MQTT gets durability from the persistent session instead.
    /// </summary>
    public string? Durable { get; init; }
}
