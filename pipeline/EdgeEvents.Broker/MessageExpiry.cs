using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// MQTT 5 message expiry for the embedded broker, which otherwise delivers a queued message however old. A message
/// with an expiry interval that is addressed to a persistent session whose client is offline is held here instead of
/// in MQTTnet's queue, and so is every later message for that client (to keep their order); when the client returns,
/// what has not expired is queued for it, with the remaining interval, and the rest is discarded. Held messages per
/// client are capped like MQTTnet's own queue, oldest dropped.
/// </summary>
/// <remarks>
/// Not covered: a QoS 1/2 message already in MQTTnet's queue of a connected client that then drops is delivered on
/// its return however old. MQTTnet 5.2 gives no way to take such a packet back: <c>InterceptingOutboundPacketAsync</c>
/// can suppress the send (<c>ProcessPacket = false</c>), but the packet stays in the session's unacknowledged list,
/// which <c>MqttSession.Recover()</c> queues again on every reconnect (counting against the per-client limit), and
/// <c>MqttSessionStatus.ClearApplicationMessagesQueueAsync</c> throws <c>NotImplementedException</c>. QoS 0 messages
/// are not affected: MQTTnet clears their queue when the client returns.
/// </remarks>
internal sealed class MessageExpiry(int maxHeldPerClient)
{
    private readonly ConcurrentDictionary<string, Client> _clients = new();

    public void Attach(MqttServer server)
    {
        server.ClientConnectedAsync += e =>
        {
            var client = _clients.GetOrAdd(e.ClientId, _ => new Client());
            return ReleaseAsync(server, e.ClientId, client);
        };
        server.ClientDisconnectedAsync += e =>
        {
            if (_clients.TryGetValue(e.ClientId, out var client)) lock (client) client.Connected = false;
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += e =>
        {
            _clients.TryRemove(e.Id, out _);
            return Task.CompletedTask;
        };
        server.InterceptingClientEnqueueAsync += e =>
        {
            var message = e.ApplicationMessage;
            if (!e.AcceptEnqueue) return Task.CompletedTask;
            var client = _clients.GetOrAdd(e.ReceiverClientId, _ => new Client());
            lock (client)
            {
                if (client.Connected || (message.MessageExpiryInterval == 0 && client.Held.Count == 0))
                    return Task.CompletedTask;
                e.AcceptEnqueue = false;
                var now = DateTime.UtcNow;
                while (client.Held.Count > 0 && client.Held.Peek().ExpiresAt <= now) client.Held.Dequeue();
                if (client.Held.Count >= maxHeldPerClient)
                {
                    // Full: first forget what has expired anywhere in the queue (frames behind an event), then the
                    // oldest.
                    var live = client.Held.Where(h => h.ExpiresAt > now).ToList();
                    client.Held.Clear();
                    foreach (var held in live.Skip(Math.Max(0, live.Count - maxHeldPerClient + 1)))
                        client.Held.Enqueue(held);
                }
                var expiresAt = message.MessageExpiryInterval == 0
                    ? DateTime.MaxValue
                    : now.AddSeconds(message.MessageExpiryInterval);
                client.Held.Enqueue((message, expiresAt));
            }
            return Task.CompletedTask;
        };
    }

    private static async Task ReleaseAsync(MqttServer server, string clientId, Client client)
    {
        var session = await server.GetSessionAsync(clientId);
        lock (client)
        {
            client.Connected = true;
            var now = DateTime.UtcNow;
            while (client.Held.TryDequeue(out var held))
            {
                if (session is null || held.ExpiresAt <= now) continue;
                var message = held.ExpiresAt == DateTime.MaxValue
                    ? held.Message
                    : Copy(held.Message, held.Message.QualityOfServiceLevel,
                        (uint)Math.Ceiling((held.ExpiresAt - now).TotalSeconds));
                session.TryEnqueueApplicationMessage(message, out _);
            }
        }
    }

    /// <summary>
    /// A message as a subscriber receives it from a queue: not retained, at <paramref name="qos"/>, with the expiry
    /// interval it has left (0: none) and a UserProperties list of its own (<see cref="DurableSessions"/> tells its
    /// messages apart by that list).
    /// </summary>
    internal static MqttApplicationMessage Copy(
        MqttApplicationMessage message, MqttQualityOfServiceLevel qos, uint expirySeconds) => new()
        {
            Topic = message.Topic,
            Payload = message.Payload,
            QualityOfServiceLevel = qos,
            ContentType = message.ContentType,
            CorrelationData = message.CorrelationData,
            ResponseTopic = message.ResponseTopic,
            UserProperties = message.UserProperties is { } properties ? [.. properties] : [],
            PayloadFormatIndicator = message.PayloadFormatIndicator,
            MessageExpiryInterval = expirySeconds,
        };

    private sealed class Client
    {
        public bool Connected;
        public readonly Queue<(MqttApplicationMessage Message, DateTime ExpiresAt)> Held = new();
    }
}
