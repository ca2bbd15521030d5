namespace EdgeEvents.Pipeline.Observability;

/// <summary>
/// OpenTelemetry messaging semantic-convention attribute names used on publish, receive and processing spans.
/// </summary>
public static class MessagingTags
{
    public const string System = "messaging.system";
    public const string Operation = "messaging.operation";
    public const string DestinationName = "messaging.destination.name";
    public const string MessageId = "messaging.message.id";
    public const string BodySize = "messaging.message.body.size";
    public const string ConsumerGroup = "messaging.consumer.group.name";

    public const string Publish = "publish";
    public const string Receive = "receive";
}
