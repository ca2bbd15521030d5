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
    /// <summary>User of each connected client, by client id.</summary>
    private readonly ConcurrentDictionary<string, string> _connected = new(StringComparer.Ordinal);
    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += e =>
        {
            if (e.ReasonCode != MqttConnectReasonCode.Success || string.IsNullOrEmpty(e.UserName))
                return Task.CompletedTask;
            if (_connected.TryGetValue(e.ClientId, out var user) && user == e.UserName) return Task.CompletedTask;
            // Counted once connected, not reserved here: a connection that fails before that must not hold a place.
            // Connections validated at the same instant may therefore pass the limit by a few.
            var count = _connected.Values.Count(u => u == e.UserName);
            if (count < max) return Task.CompletedTask;
            // MQTTnet would turn QuotaExceeded into "unsupported protocol version" for 3.1.1 clients.
            e.ReasonCode = e.ProtocolVersion == MqttProtocolVersion.V500
                ? MqttConnectReasonCode.QuotaExceeded
                : MqttConnectReasonCode.ServerUnavailable;
            e.ReasonString =
                $"User '{e.UserName}' has {count} connections, the most allowed (Broker:MaxConnectionsPerUser).";
            logger.LogWarning("Refused connection of {User} from {Endpoint} as client {ClientId}: " +
                "{Count} connections, the most allowed",
                e.UserName, e.RemoteEndPoint, e.ClientId, count);
            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e =>
        {
            if (!string.IsNullOrEmpty(e.UserName)) _connected[e.ClientId] = e.UserName;
            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += e =>
        {
            // A takeover's new connection keeps the entry.
            if (e.DisconnectType != MqttClientDisconnectType.Takeover) _connected.TryRemove(e.ClientId, out _);
            return Task.CompletedTask;
        };
    }
}
