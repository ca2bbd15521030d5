using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// At most <c>Broker:MaxConnectionsPerUser</c> connections per user name: one more is refused with
/// <c>QuotaExceeded</c> (MQTT 5; MQTT 3.1.1 clients see <c>ServerUnavailable</c>), so one set of credentials cannot
/// take all of the broker's connections. A reconnect with a client id the user already has connected replaces that
/// connection and is not counted twice. Anonymous clients are not counted.
/// </summary>
internal sealed class ConnectionsPerUser(int max, ILogger logger)
{
    /// <summary>How long a validated connection holds its place before the broker reports it connected.</summary>
    private static readonly TimeSpan Reservation = TimeSpan.FromSeconds(30);

    /// <summary>User of each connected client, by client id.</summary>
    private readonly ConcurrentDictionary<string, string> _connected = new(StringComparer.Ordinal);

    /// <summary>
    /// Connections validated but not yet reported connected (MQTTnet reports it after the CONNACK, so a client may
    /// connect again before): they count, until connected or for <see cref="Reservation"/> if they never are.
    /// </summary>
    private readonly ConcurrentDictionary<string, (string User, DateTime At)> _validated = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();

    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += e =>
        {
            if (e.ReasonCode != MqttConnectReasonCode.Success || string.IsNullOrEmpty(e.UserName))
                return Task.CompletedTask;
            int count;
            lock (_lock)
            {
                if (_connected.TryGetValue(e.ClientId, out var user) && user == e.UserName) return Task.CompletedTask;
                var now = DateTime.UtcNow;
                count = _connected.Count(c => c.Value == e.UserName)
                    + _validated.Count(v => v.Value.User == e.UserName && now - v.Value.At < Reservation
                        && !_connected.ContainsKey(v.Key));
                if (count < max)
                {
                    _validated[e.ClientId] = (e.UserName, now);
                    return Task.CompletedTask;
                }
            }
            // MQTTnet would turn QuotaExceeded into "unsupported protocol version" for 3.1.1 clients.
            e.ReasonCode = e.ProtocolVersion == MqttProtocolVersion.V500
                ? MqttConnectReasonCode.QuotaExceeded
                : MqttConnectReasonCode.ServerUnavailable;
            e.ReasonString =
                $"User '{e.UserName}' has {count} connections, the most allowed (Broker:MaxConnectionsPerUser).";
            logger.LogWarning(
                "Refused connection of {User} from {Endpoint} as client {ClientId}: " +
                "{Count} connections, the most allowed",
                e.UserName, e.RemoteEndPoint, e.ClientId, count);
            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e =>
        {
            lock (_lock)
            {
                _validated.TryRemove(e.ClientId, out _);
                if (!string.IsNullOrEmpty(e.UserName)) _connected[e.ClientId] = e.UserName;
            }
            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += e =>
        {
            // A takeover's new connection keeps the entry.
            if (e.DisconnectType == MqttClientDisconnectType.Takeover) return Task.CompletedTask;
            lock (_lock) _connected.TryRemove(e.ClientId, out _);
            return Task.CompletedTask;
        };
    }
}
