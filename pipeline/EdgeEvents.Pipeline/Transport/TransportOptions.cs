using System.Text;
using EdgeEvents.Pipeline.Reliability;

namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// Connection settings shared by the MQTT and NATS transports. Bound from configuration section <c>Transport</c>.
/// </summary>
public sealed record TransportOptions
{
    public const string Section = "Transport";

    /// <summary>
    /// <c>mqtt://host:port</c>, <c>mqtts://host:port</c> or <c>nats://host:port</c>. Default
    /// <c>mqtt://127.0.0.1:1883</c>.
    /// </summary>
    public string Broker { get; init; } = "mqtt://127.0.0.1:1883";
    /// <summary>Topic prefix. Default <c>edge</c>.</summary>
    public string Prefix { get; init; } = "edge";
    /// <summary>
    /// Client id. Default <c>{component}-{user}-{host}</c> (<c>{component}-{host}</c> without <see cref="Username"/>).
    /// </summary>
    public string? ClientId { get; init; }
    public string? Username { get; init; }
    /// <summary>Password; never logged. Prefer <see cref="PasswordFile"/>.</summary>
    public string? Password { get; init; }
    /// <summary>File holding the password (a mounted Kubernetes Secret).</summary>
    public string? PasswordFile { get; init; }
    /// <summary>PEM file of the CA that signs the broker's certificate; system trust store when null.</summary>
    public string? CaFile { get; init; }
    /// <summary>Persistent session (MQTT clean start off + session expiry). Default true for workers.</summary>
    public bool PersistentSession { get; init; } = true;
    /// <summary>How long the broker keeps a disconnected persistent session. Default 1 day.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(1);
    /// <summary>Largest payload accepted on receive; larger ones are rejected and counted. Default 16 MiB.</summary>
    public int MaxPayloadBytes { get; init; } = 16 * 1024 * 1024;
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>
    /// MQTT: longest wait for the broker's acknowledgement of a QoS 1 publish (its write included). Past it the
    /// transport logs an error, drops the connection (MQTT resends an unacknowledged message only on a new one) and
    /// sends the message again after the reconnect. Default 30 s.
    /// </summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// First reconnect delay; doubles with jitter up to <see cref="ReconnectMaxDelay"/>. Default 200 ms.
    /// </summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Socket buffer size; 64 KiB triples throughput for 100 KB frames over the 8 KiB default.</summary>
    public int BufferSize { get; init; } = 64 * 1024;
    /// <summary>
    /// Store-and-forward outbox for at-least-once publishes; off unless <c>Outbox:Path</c> is set (the CLI workers set
    /// it).
    /// </summary>
    public OutboxOptions Outbox { get; init; } = new();
    /// <summary>
    /// Where the connection is announced. Default null: <c>{prefix}/status/{component}</c>,
    /// <c>online</c>/<c>offline</c>.
    /// </summary>
    public Presence? Presence { get; init; }
    /// <summary>NATS-only settings (JetStream streams, retained state). Section <c>Transport:Nats</c>.</summary>
    // A fresh instance: configuration binding fills it in place, and must not fill the shared default.
    public Nats.NatsOptions Nats { get; init; } = new();

    public string? ReadPassword() => PasswordFile is { Length: > 0 } f ? File.ReadAllText(f).Trim() : Password;

    // Records print every property; the password must never reach a log line.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Broker = {Broker}, Prefix = {Prefix}, ClientId = {ClientId}, Username = {Username}, ");
        builder.Append($"Password = {(Password is null ? "null" : "***")}, PasswordFile = {PasswordFile}, ");
        builder.Append($"CaFile = {CaFile}, ");
        builder.Append($"PersistentSession = {PersistentSession}, SessionExpiry = {SessionExpiry}, ");
        builder.Append($"MaxPayloadBytes = {MaxPayloadBytes}, ");
        builder.Append($"KeepAlive = {KeepAlive}, AckTimeout = {AckTimeout}, ");
        builder.Append($"ReconnectMinDelay = {ReconnectMinDelay}, ReconnectMaxDelay = {ReconnectMaxDelay}, ");
        builder.Append($"BufferSize = {BufferSize}, Outbox = {Outbox}, Presence = {Presence}, Nats = {Nats}");
        return true;
    }
}
