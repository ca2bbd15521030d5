using MessagePack;

namespace EdgeEvents.Contracts.Messages;

/// <summary>
/// Periodic health and statistics of one component, published on <c>{prefix}/stats/{component}</c>.
/// (Availability itself is the plain text <c>online</c>/<c>offline</c> retained on <c>{prefix}/status/{component}</c>.)
/// </summary>
[MessagePackObject]
public sealed record StatusMessage : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Component { get; init; }
    [Key(4)] public string State { get; init; } = StatusPayloads.Online;
    [Key(5)] public DateTimeOffset StartedAt { get; init; }
    [Key(6)] public string? Host { get; init; }
    /// <summary>Named counters and gauges, e.g. <c>frames_processed</c>.</summary>
    [Key(7)] public IReadOnlyDictionary<string, double> Values { get; init; } = new Dictionary<string, double>();
}

public static class StatusPayloads
{
    public const string Online = "online";
    public const string Offline = "offline";
}

public static class ErrorKinds
{
    public const string PayloadTooLarge = "payload_too_large";
    public const string MalformedPayload = "malformed_payload";
    public const string UnknownTopic = "unknown_topic";
    public const string DecodeFailed = "decode_failed";
    public const string InvalidFrame = "invalid_frame";
    public const string ModelOutput = "model_output";
    public const string Overload = "overload";
    public const string OutboxOverflow = "outbox_overflow";
    /// <summary>
    /// A frame's sequence number is not newer than the last one processed for its camera; it was dropped.
    /// </summary>
    public const string OutOfOrder = "out_of_order";
    /// <summary>A capture time was too far from the producer's or receiver's clock; it was clamped.</summary>
    public const string ClockSkew = "clock_skew";
    public const string Internal = "internal";
}

/// <summary>A rejected input or failed operation, published on <c>{prefix}/errors/{component}</c>.</summary>
[MessagePackObject]
public sealed record ErrorEvent : IEdgeMessage
{
    [Key(0)] public int Version { get; init; } = 1;
    [Key(1)] public string Id { get; init; } = MessageId.New();
    [Key(2)] public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    [Key(3)] public required string Component { get; init; }
    /// <summary>One of <see cref="ErrorKinds"/>.</summary>
    [Key(4)] public required string Kind { get; init; }
    [Key(5)] public required string Message { get; init; }
    /// <summary>Topic of the offending message, if any.</summary>
    [Key(6)] public string? Topic { get; init; }
    [Key(7)] public int? PayloadBytes { get; init; }
    [Key(8)] public string? Camera { get; init; }
}
