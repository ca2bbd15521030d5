using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using MQTTnet.Server;

namespace EdgeEvents.Pipeline.Broker;

/// <summary>
/// MQTTnet's MQTT 3.1.1/5 server, so the demo and tests need nothing installed. Persistent sessions and retained
/// messages live in memory for the life of the process.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;
    private readonly ILogger _logger;

    private EmbeddedBroker(MqttServer server, int port, string bindAddress, ILogger logger)
    {
        _server = server;
        Port = port;
        BindAddress = bindAddress;
        _logger = logger;
    }

    public int Port { get; }
    public string BindAddress { get; }
    public string Url => $"mqtt://{(BindAddress is "0.0.0.0" ? "127.0.0.1" : BindAddress)}:{Port}";
    public MqttServer Server => _server;

    public static async Task<EmbeddedBroker> StartAsync(BrokerOptions options, ILogger logger, CancellationToken ct = default)
    {
        var address = IPAddress.Parse(options.BindAddress);
        var port = options.Port == 0 ? PickFreePort(address) : options.Port;
        var serverOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(address)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions()
            .WithMaxPendingMessagesPerClient(options.MaxPendingMessagesPerClient)
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(serverOptions);
        new SharedSubscriptions().Attach(server);
        server.ValidatingConnectionAsync += AssignClientId;
        var broker = new EmbeddedBroker(server, port, options.BindAddress, logger);
        await server.StartAsync();
        if (!IPAddress.IsLoopback(address))
            logger.LogWarning("Embedded broker listens on {Address}:{Port} and accepts anonymous clients: anyone on that network can read and publish.", options.BindAddress, port);
        logger.LogInformation("Embedded MQTT broker listening on {Address}:{Port}", options.BindAddress, port);
        return broker;
    }

    private static readonly System.Reflection.FieldInfo? ConnectPacketField =
        typeof(ValidatingConnectionEventArgs).GetField("_connectPacket", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);

    /// <summary>
    /// mosquitto_pub/sub send an empty client id, which MQTT allows with a clean session: the server assigns one.
    /// MQTTnet applies the assigned id for MQTT 5 only and refuses 3.1.1 clients (mosquitto's default), so for those
    /// we set it on the CONNECT packet itself. Covered by a test with the real mosquitto_pub.
    /// </summary>
    private static Task AssignClientId(ValidatingConnectionEventArgs e)
    {
        if (!string.IsNullOrEmpty(e.ClientId) || e.CleanSession == false) return Task.CompletedTask;
        e.AssignedClientIdentifier = $"auto-{Guid.NewGuid():N}";
        if (ConnectPacketField?.GetValue(e) is MQTTnet.Packets.MqttConnectPacket packet) packet.ClientId = e.AssignedClientIdentifier;
        return Task.CompletedTask;
    }

    private static int PickFreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        _server.Dispose();
        _logger.LogInformation("Embedded MQTT broker on port {Port} stopped", Port);
    }
}
