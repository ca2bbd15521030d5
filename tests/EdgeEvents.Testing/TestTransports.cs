using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Testing;

/// <summary>
/// Transports and components for tests, connected to a broker URL with test-friendly reconnect timings.
/// </summary>
public static class TestTransports
{
    public static TransportOptions Options(string brokerUrl, string? clientId = null, bool persistent = false) => new()
    {
        Broker = brokerUrl,
        ClientId = clientId ?? $"test-{Guid.NewGuid():N}"[..20],
        PersistentSession = persistent,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        KeepAlive = TimeSpan.FromSeconds(5),
    };

    /// <summary>A connected transport.</summary>
    public static async Task<IMessageTransport> ConnectAsync(
        TransportOptions options, string component = "test", ILoggerFactory? loggers = null)
    {
        var transport = TransportFactory.Create(options, component, loggers ?? NullLoggerFactory.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await transport.ConnectAsync(timeout.Token);
        return transport;
    }

    public static Task<IMessageTransport> ConnectAsync(
        string brokerUrl, string? clientId = null, bool persistent = false, string component = "test") =>
        ConnectAsync(Options(brokerUrl, clientId, persistent), component);

    /// <summary>A connected component (transport + error reporter) as workers get it from the host.</summary>
    public static async Task<EdgeComponent> ComponentAsync(
        TransportOptions options, string component, ILoggerFactory? loggers = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var transport = await ConnectAsync(options, component, loggers);
        return new EdgeComponent(component, new TopicScheme(options.Prefix), transport, loggers);
    }
}

public static class TransportLayers
{
    /// <summary>The outbox layer of a factory-made transport, whatever layers wrap it.</summary>
    public static Pipeline.Reliability.OutboxTransport Outbox(this IMessageTransport transport) =>
        TransportDecorator.Find<Pipeline.Reliability.OutboxTransport>(transport) ??
            throw new InvalidOperationException(
                $"{transport.GetType().Name} has no outbox layer: is Transport:Outbox:Path set?");
}
