using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using EdgeEvents.Pipeline.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet.AspNetCore;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// MQTTnet's MQTT 3.1.1/5 server, so the demo and tests need nothing installed. Persistent sessions and retained
/// messages live in memory for the life of the process, or in <see cref="BrokerOptions.DataPath"/> across restarts
/// (<see cref="DurableSessions"/>). One server with up to three listeners: plain TCP, TLS, and MQTT over WebSockets
/// (served by Kestrel through MQTTnet.AspNetCore's connection handler) for browsers; every client, whatever its
/// listener, passes the same authorization and interceptors.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;
    private readonly DurableSessions? _durable;
    private WebApplication? _webSockets;
    private readonly ILogger _logger;

    private EmbeddedBroker(
        MqttServer server, DurableSessions? durable, int port, int? tlsPort, string bindAddress, ILogger logger)
    {
        _server = server;
        _durable = durable;
        Port = port;
        TlsPort = tlsPort;
        BindAddress = bindAddress;
        _logger = logger;
    }

    /// <summary>Plain-TCP port (0 when <see cref="BrokerOptions.PlainListener"/> is off).</summary>
    public int Port { get; }
    /// <summary>TLS port, when a certificate is configured.</summary>
    public int? TlsPort { get; }
    public string BindAddress { get; }
    /// <summary>
    /// The URL to give clients: the plain listener's, or the TLS one's when there is no plain listener.
    /// </summary>
    public string Url => Port == 0 && TlsUrl is { } tls ? tls : $"mqtt://{Host}:{Port}";
    public string? TlsUrl => TlsPort is { } p ? $"mqtts://{Host}:{p}" : null;
    /// <summary>
    /// The WebSocket listener's URL (<c>ws://host:port/mqtt</c>, <c>wss://</c> with TLS), when it is on.
    /// </summary>
    public string? WebSocketUrl { get; private set; }
    public MqttServer Server => _server;
    private string Host => BindAddress is "0.0.0.0" ? "127.0.0.1" : BindAddress;

    public static async Task<EmbeddedBroker> StartAsync(
        BrokerOptions options, ILogger logger, CancellationToken ct = default)
    {
        if (options.MaxConnectionsPerUser < 0)
        {
            throw new InvalidOperationException(
                $"Broker:MaxConnectionsPerUser is {options.MaxConnectionsPerUser}: 0 (no limit) or more.");
        }
        if (options.MaxPacketBytes < 1024)
        {
            throw new InvalidOperationException(
                $"Broker:MaxPacketBytes is {options.MaxPacketBytes}: it must be at least 1024.");
        }
        var address = IPAddress.Parse(options.BindAddress);
        var tls = options.TlsCertificateFile is { Length: > 0 };
        if (!tls && !options.PlainListener && options.WebSocketPort is null)
        {
            throw new InvalidOperationException(
                "Broker:PlainListener is off but neither a TLS certificate nor a WebSocket port is configured: " +
                "the broker would listen nowhere.");
        }
        var port = !options.PlainListener ? 0 : options.Port == 0 ? PickFreePort(address) : options.Port;
        int? tlsPort = tls ? (options.TlsPort == 0 ? PickFreePort(address) : options.TlsPort) : null;
        var certificate = tls ? LoadCertificate(options.TlsCertificateFile!, options.TlsKeyFile) : null;
        var builder = new MqttServerOptionsBuilder()
            .WithPersistentSessions()
            .WithMaxPendingMessagesPerClient(options.MaxPendingMessagesPerClient);
        if (options.PlainListener)
        {
            builder.WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(address)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.None).WithDefaultEndpointPort(port);
        }
        else
            builder.WithoutDefaultEndpoint();
        if (tlsPort is { } securePort)
        {
            builder.WithEncryptedEndpoint().WithEncryptedEndpointBoundIPAddress(address)
                .WithEncryptedEndpointBoundIPV6Address(IPAddress.None)
                .WithEncryptedEndpointPort(securePort).WithEncryptionCertificate(certificate);
        }
        var factory = new MqttServerFactory();
        // The default adapter serves the TCP and TLS endpoints; the connection handler takes what Kestrel accepts.
        var webSockets = options.WebSocketPort is null ? null : new MqttConnectionHandler();
        var adapters = factory.DefaultServerAdapters
            .Select(create => PacketSizeLimit.Guard(create(factory), options.MaxPacketBytes, logger))
            .ToList();
        if (webSockets is not null) adapters.Add(webSockets);
        var server = factory.CreateMqttServer(builder.Build(), adapters);
        // Order matters: a handler sees what the ones before it decided (authorization refuses a publish before the
        // store queues it; the store takes QoS 1/2 messages of persistent sessions before the expiry hold sees them).
        new SharedSubscriptions().Attach(server);
        server.ValidatingConnectionAsync += AssignClientId;
        var authorization = BrokerAuthorization.Create(options, logger);
        authorization?.Attach(server);
        MessageIds.Attach(server);
        Func<string?, string, bool>? mayRead = authorization is null ? null : authorization.MayRead;
        var durable = options.DataPath is { Length: > 0 } data
            ? DurableSessions.Open(data, options.MaxPendingMessagesPerClient, mayRead, logger) : null;
        // Before the store: a delivery the owner may not read is refused before the store queues it.
        if (authorization is not null)
        {
            var storedOwners = durable?.StoredOwners ?? new Dictionary<string, string>();
            new ClientIdOwnership(storedOwners, authorization.MayRead, logger).Attach(server);
        }
        if (options.MaxConnectionsPerUser > 0)
            new ConnectionsPerUser(options.MaxConnectionsPerUser, logger).Attach(server);
        durable?.Attach(server);
        new MessageExpiry(options.MaxPendingMessagesPerClient).Attach(server);
        var broker = new EmbeddedBroker(server, durable, port, tlsPort, options.BindAddress, logger);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            server.Dispose();
            durable?.Dispose();
            throw;
        }
        if (!IPAddress.IsLoopback(address))
        {
            if (authorization is null)
            {
                logger.LogWarning("Embedded broker listens on {Address} and accepts anonymous clients: " +
                    "anyone on that network can read and publish. Set Broker:Users and Broker:PasswordFile.",
                    options.BindAddress);
            }
            else if (options.PlainListener || (webSockets is not null && !tls))
            {
                logger.LogWarning("Embedded broker listens on {Address} without TLS " +
                    "(plain port {Port}, WebSockets {WebSockets}): passwords and messages cross the network in " +
                    "clear text. Set Broker:TlsCertificateFile and Broker:PlainListener=false.",
                    options.BindAddress, port, webSockets is null ? "off" : "on, plain");
            }
        }
        if (webSockets is not null) await broker.StartWebSocketsAsync(webSockets, options, certificate, ct);
        logger.LogInformation("Embedded MQTT broker listening on {Address} " +
            "(plain {Port}, TLS {TlsPort}, WebSockets {WebSocketUrl}, {Users} users, store {DataPath})",
            options.BindAddress, port, tlsPort, broker.WebSocketUrl, options.Users.Count,
            options.DataPath ?? "in memory");
        return broker;
    }

    /// <summary>
    /// Kestrel on <see cref="BrokerOptions.WebSocketPort"/>, handing each WebSocket (subprotocol <c>mqtt</c>) to the
    /// server.
    /// </summary>
    private async Task StartWebSocketsAsync(
        MqttConnectionHandler handler, BrokerOptions options, X509Certificate2? certificate, CancellationToken ct)
    {
        var builder = WebListener.CreateBuilder(options.BindAddress, options.WebSocketPort ?? 0, _logger, certificate);
        builder.Services.AddConnections();
        var app = builder.Build();
        var guarded = PacketSizeLimit.Guard(handler, options.MaxPacketBytes, _logger);
        var dispatcher = new HttpConnectionDispatcherOptions { Transports = HttpTransportType.WebSockets };
        dispatcher.WebSockets.SubProtocolSelector = MqttSubProtocolSelector.SelectSubProtocol;
        app.MapConnections(options.WebSocketPath, dispatcher, connection => connection.Run(guarded.OnConnectedAsync));
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            await DisposeAsync();
            throw;
        }
        _webSockets = app;
        var scheme = certificate is null ? "ws" : "wss";
        WebSocketUrl = $"{scheme}://{Host}:{WebListener.BoundPort(app)}{options.WebSocketPath}";
    }

    /// <summary>
    /// A PEM certificate with its key (or a PKCS#12 file), re-imported so SslStream can use the key on every platform.
    /// </summary>
    private static X509Certificate2 LoadCertificate(string certificateFile, string? keyFile)
    {
        using var pem = keyFile is { Length: > 0 }
            ? X509Certificate2.CreateFromPemFile(certificateFile, keyFile)
            : X509CertificateLoader.LoadPkcs12FromFile(certificateFile, null);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static readonly System.Reflection.FieldInfo? ConnectPacketField =
        typeof(ValidatingConnectionEventArgs).GetField(
            "_connectPacket", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);

    /// <summary>
    /// mosquitto_pub/sub send an empty client id, which MQTT allows with a clean session: the server assigns one.
    /// MQTTnet applies the assigned id for MQTT 5 only and refuses 3.1.1 clients (mosquitto's default), so for those
    /// we set it on the CONNECT packet itself. Covered by a test with the real mosquitto_pub.
    /// </summary>
    private static Task AssignClientId(ValidatingConnectionEventArgs e)
    {
        if (!string.IsNullOrEmpty(e.ClientId) || e.CleanSession == false) return Task.CompletedTask;
        e.AssignedClientIdentifier = $"auto-{Guid.NewGuid():N}";
        if (ConnectPacketField?.GetValue(e) is MQTTnet.Packets.MqttConnectPacket packet)
            packet.ClientId = e.AssignedClientIdentifier;
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
        // Stopping the server disconnects every client, WebSocket ones too, so Kestrel then has no connection to wait
        // for.
        await _server.StopAsync();
        if (_webSockets is not null)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _webSockets.StopAsync(grace.Token);
            await _webSockets.DisposeAsync();
        }
        _server.Dispose();
        _durable?.Dispose();
        _logger.LogInformation("Embedded MQTT broker on port {Port} stopped", TlsPort ?? Port);
    }
}
