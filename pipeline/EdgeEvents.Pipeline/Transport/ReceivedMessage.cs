namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// A message delivered to a subscription. <see cref="Topic"/> is in MQTT form whatever the transport.
/// </summary>
public sealed record ReceivedMessage(string Topic, ReadOnlyMemory<byte> Payload)
{
    public string? ContentType { get; init; }
    public bool Retained { get; init; }
    public string? ResponseTopic { get; init; }
    public ReadOnlyMemory<byte> CorrelationData { get; init; }
    public string? MessageId { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyHeaders;
    public DateTimeOffset ReceivedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// Set when the subscription asked for manual acknowledgement: call it once the message is safely handled,
    /// so a crash before that makes the broker redeliver it.
    /// </summary>
    public Func<CancellationToken, ValueTask>? Acknowledge { get; init; }

    public ValueTask AckAsync(CancellationToken ct = default) => Acknowledge?.Invoke(ct) ?? ValueTask.CompletedTask;

    internal static readonly IReadOnlyDictionary<string, string> EmptyHeaders = new Dictionary<string, string>();
}
