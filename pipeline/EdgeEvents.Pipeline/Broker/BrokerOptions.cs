namespace EdgeEvents.Pipeline.Broker;

/// <summary>Embedded MQTT broker settings. Bound from configuration section <c>Broker</c>.</summary>
public sealed record BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>TCP port for MQTT; 0 picks a free port (printed at start). Default 1883.</summary>
    public int Port { get; init; } = 1883;
    /// <summary>Address to listen on. Default <c>127.0.0.1</c>; use <c>0.0.0.0</c> to accept other machines (then set credentials).</summary>
    public string BindAddress { get; init; } = "127.0.0.1";
    /// <summary>Messages queued per disconnected persistent session before the oldest are dropped. Default 10,000.</summary>
    public int MaxPendingMessagesPerClient { get; init; } = 10_000;
}
