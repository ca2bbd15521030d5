using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EdgeEvents.Contracts.Topics;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// MQTT 5 shared subscriptions (<c>$share/{group}/{filter}</c>) for MQTTnet's server, which refuses them itself.
/// A shared subscription is stored as a plain one (the SUBSCRIBE packet is rewritten on the way in), and when a message
/// is queued for the group's members only one of them, chosen round-robin, accepts it. A member that also holds a plain
/// subscription to the same topic is not special-cased: it takes part in the group's rotation only.
/// </summary>
internal sealed class SharedSubscriptions
{
    private readonly ConcurrentDictionary<(string Group, string Filter), Group> _groups = new();
    // Which member got a message, per group, so every receiver of the same message agrees.
    private readonly ConditionalWeakTable<MqttApplicationMessage, ConcurrentDictionary<(string, string), string>>
        _choices = new();

    public void Attach(MqttServer server)
    {
        // The server refuses '$share/' filters before any subscription interceptor runs, so rewrite the packets.
        server.InterceptingInboundPacketAsync += e =>
        {
            switch (e.Packet)
            {
                case MqttSubscribePacket subscribe:
                    foreach (var topicFilter in subscribe.TopicFilters)
                    {
                        if (!TryParse(topicFilter.Topic, out var group, out var filter)) continue;
                        topicFilter.Topic = filter;
                        _groups.GetOrAdd((group, filter), _ => new Group()).Add(e.ClientId);
                    }
                    break;
                case MqttUnsubscribePacket unsubscribe:
                    for (var i = 0; i < unsubscribe.TopicFilters.Count; i++)
                    {
                        if (!TryParse(unsubscribe.TopicFilters[i], out var group, out var filter)) continue;
                        unsubscribe.TopicFilters[i] = filter;
                        if (_groups.TryGetValue((group, filter), out var members)) members.Remove(e.ClientId);
                    }
                    break;
            }
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += e =>
        {
            foreach (var members in _groups.Values) members.Remove(e.Id);
            return Task.CompletedTask;
        };
        server.InterceptingClientEnqueueAsync += e =>
        {
            foreach (var ((name, filter), members) in _groups)
            {
                if (!members.Contains(e.ReceiverClientId) || !TopicScheme.Matches(filter, e.ApplicationMessage.Topic))
                    continue;
                var choices = _choices.GetValue(e.ApplicationMessage, _ => new());
                var chosen = choices.GetOrAdd((name, filter), _ => members.Next() ?? e.ReceiverClientId);
                e.AcceptEnqueue = chosen == e.ReceiverClientId;
                break;
            }
            return Task.CompletedTask;
        };
    }

    private static bool TryParse(string topic, out string group, out string filter)
    {
        group = filter = "";
        if (!topic.StartsWith("$share/", StringComparison.Ordinal)) return false;
        var slash = topic.IndexOf('/', 7);
        if (slash < 0) return false;
        group = topic[7..slash];
        filter = topic[(slash + 1)..];
        return true;
    }

    private sealed class Group
    {
        private readonly List<string> _members = [];
        private int _next;

        public void Add(string clientId) { lock (_members) if (!_members.Contains(clientId)) _members.Add(clientId); }
        public void Remove(string clientId) { lock (_members) _members.Remove(clientId); }
        public bool Contains(string clientId) { lock (_members) return _members.Contains(clientId); }

        public string? Next()
        {
            lock (_members)
            {
                if (_members.Count == 0) return null;
                return _members[_next++ % _members.Count];
            }
        }
    }
}
