using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Mqtt;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Pipeline.Hosting;

/// <summary>Creates the transport the <c>--broker</c> URL names.</summary>
public static class TransportFactory
{
    /// <summary>
    /// The client id the transport connects with: <c>Transport:ClientId</c>, else <see cref="DefaultClientId"/>.
    /// </summary>
    public static string ClientIdOf(TransportOptions options, string component) =>
        options.ClientId ?? DefaultClientId(component, options.Username);

    public static IMessageTransport Create(TransportOptions options, string component, ILoggerFactory loggerFactory)
    {
        var address = BrokerAddress.Parse(options.Broker);
        var topics = new TopicScheme(options.Prefix);
        var clientId = ClientIdOf(options, component);
        var logger = loggerFactory.CreateLogger($"EdgeEvents.{component}.transport");
        if (!address.IsLoopback && string.IsNullOrEmpty(options.Username))
            logger.LogWarning("Connecting to {Broker} without credentials: anyone on that network can read and " +
                "publish. Set Transport:Username and Transport:PasswordFile.", address);
        if (!address.IsLoopback && !address.Tls && !string.IsNullOrEmpty(options.Username))
            logger.LogWarning("Sending credentials to {Broker} without TLS: the password crosses the network in " +
                "clear text. Use mqtts:// (or tls:// for NATS) and Transport:CaFile.", address);
        IMessageTransport transport = address.Protocol switch
        {
            BrokerProtocol.Mqtt => new MqttTransport(options, address, topics, component, clientId, logger),
            BrokerProtocol.Nats =>
                new NatsTransport(options, options.Nats, address, topics, component, clientId, logger),
            _ => throw new NotSupportedException($"Transport for {address.Protocol} is not available in this build."),
        };
        // Outbox inside tracing: trace context is added in the caller's span and stored with the message.
        if (options.Outbox.Path is { Length: > 0 })
            transport = OutboxTransport.Open(transport, options.Outbox, topics, component, logger);
        return new Observability.TracingTransport(transport, component, topics);
    }

    /// <summary>
    /// <c>{component}-{user}-{host}</c> (<c>{component}-{host}</c> without a user): brokers that bind client ids to
    /// users refuse a client id another user's session holds, so two users never compete for one default id.
    /// </summary>
    public static string DefaultClientId(string component, string? user) =>
        (user is { Length: > 0 }
            ? $"{component}-{user}-{Environment.MachineName}"
            : $"{component}-{Environment.MachineName}").ToLowerInvariant();
}
