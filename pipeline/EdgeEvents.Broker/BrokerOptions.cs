using EdgeEvents.Pipeline.Security;

namespace EdgeEvents.Broker;

/// <summary>Embedded MQTT broker settings. Bound from configuration section <c>Broker</c>.</summary>
public sealed record BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>TCP port for MQTT; 0 picks a free port (printed at start). Default 1883.</summary>
    public int Port { get; init; } = 1883;
    /// <summary>
    /// Address to listen on. Default <c>127.0.0.1</c>; use <c>0.0.0.0</c> to accept other machines (then set
    /// credentials).
    /// </summary>
    public string BindAddress { get; init; } = "127.0.0.1";
    /// <summary>
    /// Largest MQTT packet a client may send, in bytes (fixed header included); a larger one closes its connection
    /// before its body is read. Default 16 MiB + 256 (16,777,472, as the shipped mosquitto.conf's
    /// <c>max_packet_size</c>), so a payload of <c>Transport:MaxPayloadBytes</c> (16 MiB) with its topic and properties
    /// fits. At least 1024.
    /// </summary>
    public int MaxPacketBytes { get; init; } = 16 * 1024 * 1024 + 256;
    /// <summary>
    /// Messages queued per client (connected or a waiting persistent session) before the oldest are dropped. Default
    /// 10,000.
    /// </summary>
    public int MaxPendingMessagesPerClient { get; init; } = 10_000;
    /// <summary>
    /// Connections one user name may hold at once; one more is refused with <c>QuotaExceeded</c>. Default 0: no limit
    /// (replicas of a worker share a user). Anonymous clients are not counted.
    /// </summary>
    public int MaxConnectionsPerUser { get; init; }
    /// <summary>
    /// Folder for the broker's store (<c>broker.db</c>, SQLite): retained messages, persistent sessions with their
    /// subscriptions, and QoS 1/2 messages queued for them until acknowledged survive a restart of the broker. Default
    /// null: everything lives in memory and a restart forgets it.
    /// </summary>
    public string? DataPath { get; init; }
    /// <summary>
    /// Who may connect, keyed by user name, with their role (topic permissions, see <see cref="AccessPolicy"/>).
    /// Default empty: anonymous clients may do anything (fine on loopback; warned about elsewhere).
    /// </summary>
    public IReadOnlyDictionary<string, BrokerUser> Users { get; init; } = new Dictionary<string, BrokerUser>();
    /// <summary>
    /// mosquitto-format password file (made with <c>mosquitto_passwd</c>) holding the users' hashes. Default null.
    /// </summary>
    public string? PasswordFile { get; init; }
    /// <summary>Topic prefix the role permissions apply to. Default <c>edge</c>.</summary>
    public string Prefix { get; init; } = "edge";
    /// <summary>
    /// PEM certificate (chain) of the TLS listener, with <see cref="TlsKeyFile"/>. Default null: no TLS listener.
    /// </summary>
    public string? TlsCertificateFile { get; init; }
    /// <summary>PEM private key of <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsKeyFile { get; init; }
    /// <summary>TLS port; 0 picks a free port. Default 8883.</summary>
    public int TlsPort { get; init; } = 8883;
    /// <summary>
    /// Port for MQTT over WebSockets (subprotocol <c>mqtt</c>, path <see cref="WebSocketPath"/>), for browsers; 0 picks
    /// a free port. The same server behind it: the same users, permissions and sessions as TCP. TLS (<c>wss://</c>)
    /// with the TLS listener's certificate when one is configured. Default null: no WebSocket listener.
    /// </summary>
    public int? WebSocketPort { get; init; }
    /// <summary>URL path of the WebSocket listener. Default <c>/mqtt</c>.</summary>
    public string WebSocketPath { get; init; } = "/mqtt";
    /// <summary>
    /// Keep the plain-TCP listener when TLS or WebSockets are on. Default true; set false so nothing travels in clear
    /// text, or to serve WebSockets only.
    /// </summary>
    public bool PlainListener { get; init; } = true;
}

/// <summary>
/// A user of the embedded broker. The hash is mosquitto's <c>$7$</c> PBKDF2 format (<see cref="PasswordHash"/>).
/// </summary>
public sealed record BrokerUser
{
    /// <summary>Decides the topics the user may publish and subscribe to.</summary>
    public BrokerRole Role { get; init; }
    /// <summary>
    /// Password hash; when null the user's line in <see cref="BrokerOptions.PasswordFile"/> is used. Never a clear-text
    /// password.
    /// </summary>
    public string? PasswordHash { get; init; }
}
