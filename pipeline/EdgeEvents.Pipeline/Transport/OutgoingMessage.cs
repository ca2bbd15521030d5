namespace EdgeEvents.Pipeline.Transport;

/// <summary>A message to publish. <see cref="Topic"/> is always in MQTT form (<c>edge/frames/cam1</c>).</summary>
public sealed record OutgoingMessage(string Topic, ReadOnlyMemory<byte> Payload)
{
    public string? ContentType { get; init; }
    public Delivery Delivery { get; init; } = Delivery.AtLeastOnce;
    public bool Retain { get; init; }
    /// <summary>Broker drops the message if not delivered within this time (MQTT 5 message expiry).</summary>
    public TimeSpan? Expiry { get; init; }
    /// <summary>Where the receiver should reply (MQTT 5 response topic; NATS reply subject).</summary>
    public string? ResponseTopic { get; init; }
    public ReadOnlyMemory<byte> CorrelationData { get; init; }
    /// <summary>Id the consumer de-duplicates on (MQTT user property <c>msg-id</c>; NATS <c>Nats-Msg-Id</c>).</summary>
    public string? MessageId { get; init; }
    /// <summary>Extra headers such as W3C <c>traceparent</c> (MQTT 5 user properties; NATS headers).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}
