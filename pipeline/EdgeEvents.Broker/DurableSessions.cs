using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EdgeEvents.Contracts.Topics;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// Makes the embedded broker's state survive a restart (<see cref="BrokerOptions.DataPath"/>): retained messages,
/// persistent sessions with their subscriptions, and every QoS 1/2 message for a persistent session from the moment
/// the broker accepts it until the client acknowledges it. MQTTnet keeps sessions in memory and offers no way to
/// create one for a client that is not connected, so this class keeps the queue itself:
/// <list type="bullet">
/// <item>A QoS ≥ 1 message for a persistent session is written to <see cref="BrokerStore"/> instead of MQTTnet's
/// queue. While the client is connected it is handed to MQTTnet's session at once (in store order); while it is away
/// it waits in the store and is handed over, in order, when the client connects (expired ones are discarded).</item>
/// <item>It leaves the store when the client acknowledges it. MQTTnet reports the acknowledged PUBLISH packet, which
/// it builds from the message we hand over sharing that message's <c>UserProperties</c> list (MQTTnet 5.2
/// <c>MqttPublishPacketFactory.Create</c>); every handed-over message gets a list of its own, so that list identifies
/// the stored row even after MQTTnet renumbers the packet on a reconnect.</item>
/// <item>After a restart, MQTTnet knows no sessions: until a stored client connects, publishes matching its stored
/// subscriptions are queued for it here; when it connects its subscriptions are restored (before it can send
/// anything) and its queue is handed over.</item>
/// </list>
/// Limits: messages already handed to a connected client's MQTTnet session are held by MQTTnet too (it redelivers
/// them on a reconnect within the same run; after a restart this store does); QoS 0 messages are not stored; a shared
/// subscription is stored as the plain filter MQTTnet sees (<see cref="SharedSubscriptions"/> rewrites it), so after a
/// restart it is restored as a plain one until its client subscribes again.
/// </summary>
internal sealed class DurableSessions : IDisposable
{
    private readonly BrokerStore _store;
    private readonly int _maxQueuedPerClient;
    private readonly ILogger _logger;
    private readonly Func<string?, string, bool>? _mayRead;
    private readonly ConcurrentDictionary<string, Client> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Connecting> _connecting = new(StringComparer.Ordinal);
    // A handed-over message's UserProperties list (shared with MQTTnet's PUBLISH packet) → its row.
    private readonly ConditionalWeakTable<List<MqttUserProperty>, StrongBox<long>> _handed = new();
    // Messages queued at publish time for clients not yet back after a restart, so the enqueue path skips them.
    private readonly ConditionalWeakTable<MqttApplicationMessage, HashSet<string>> _capturedFor = new();
    private long _dropped;

    private DurableSessions(
        BrokerStore store, int maxQueuedPerClient, Func<string?, string, bool>? mayRead, ILogger logger)
    {
        _store = store;
        _maxQueuedPerClient = maxQueuedPerClient;
        _mayRead = mayRead;
        _logger = logger;
    }

    /// <summary>Messages dropped because a client's queue was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Stored sessions' owners (<see cref="ClientIdOwnership"/>), as the store held them at start.</summary>
    public IReadOnlyDictionary<string, string> StoredOwners { get; private init; } = new Dictionary<string, string>();

    /// <param name="mayRead">
    /// Whether a user may read a topic or filter; when set, a restored session's subscriptions and queued messages are
    /// re-authorised against the user who connects to it (null: anonymous broker, everything allowed).
    /// </param>
    public static DurableSessions Open(
        string folder, int maxQueuedPerClient, Func<string?, string, bool>? mayRead, ILogger logger)
    {
        var store = BrokerStore.Open(Path.Combine(folder, "broker.db"));
        var expired = store.DeleteExpiredSessions(DateTimeOffset.UtcNow);
        var sessions = store.Sessions();
        var durable = new DurableSessions(store, maxQueuedPerClient, mayRead, logger)
        {
            StoredOwners = sessions.Where(s => s.Owner is not null)
                .ToDictionary(s => s.ClientId, s => s.Owner!, StringComparer.Ordinal),
        };
        var counts = store.QueueCounts();
        foreach (var session in sessions)
        {
            var client = new Client { Restoring = true, Queued = counts.GetValueOrDefault(session.ClientId) };
            foreach (var filter in session.Subscriptions) client.Subscriptions[filter.Topic] = filter;
            durable._clients[session.ClientId] = client;
        }
        logger.LogInformation(
            "Broker store {Folder}: {Sessions} persistent sessions ({Queued} queued messages) restored, " +
            "{Expired} expired",
            folder, durable._clients.Count, counts.Values.Sum(), expired);
        return durable;
    }

    public void Attach(MqttServer server)
    {
        server.LoadingRetainedMessageAsync += e =>
        {
            e.LoadedRetainedMessages = _store.Retained();
            return Task.CompletedTask;
        };
        server.RetainedMessageChangedAsync += e =>
        {
            _store.SetRetained(e.ChangedRetainedMessage);
            return Task.CompletedTask;
        };
        server.RetainedMessagesClearedAsync += _ =>
        {
            _store.ClearRetained();
            return Task.CompletedTask;
        };
        server.ValidatingConnectionAsync += e =>
        {
            // What the session will be, for ClientConnectedAsync (as MQTTnet decides it; MQTT 3.1.1 sessions do not
            // expire).
            var v5 = e.ProtocolVersion == MQTTnet.Formatter.MqttProtocolVersion.V500;
            var persistent = v5 ? e.SessionExpiryInterval > 0 : e.CleanSession != true;
            uint? expiry = persistent ? (v5 ? e.SessionExpiryInterval : uint.MaxValue) : null;
            _connecting[e.ClientId] = new Connecting(e.CleanSession == true, expiry);
            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e => OnConnectedAsync(server, e);
        server.ClientDisconnectedAsync += e =>
        {
            if (e.DisconnectType == MqttClientDisconnectType.Takeover
                || !_clients.TryGetValue(e.ClientId, out var client))
            {
                return Task.CompletedTask;
            }
            lock (client) client.Live = false;
            _store.SessionDisconnected(e.ClientId, DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += e =>
        {
            Forget(e.Id);
            return Task.CompletedTask;
        };
        server.ClientSubscribedTopicAsync += e =>
        {
            if (!_clients.TryGetValue(e.ClientId, out var client)) return Task.CompletedTask;
            lock (client) client.Subscriptions[e.TopicFilter.Topic] = e.TopicFilter;
            _store.Subscribe(e.ClientId, e.TopicFilter);
            return Task.CompletedTask;
        };
        server.ClientUnsubscribedTopicAsync += e =>
        {
            if (!_clients.TryGetValue(e.ClientId, out var client)) return Task.CompletedTask;
            lock (client) client.Subscriptions.Remove(e.TopicFilter);
            _store.Unsubscribe(e.ClientId, e.TopicFilter);
            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += e =>
        {
            if (e.ProcessPublish) QueueForRestoringClients(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        server.InterceptingClientEnqueueAsync += e =>
        {
            if (e.AcceptEnqueue && _clients.TryGetValue(e.ReceiverClientId, out var client)) Intercept(e, client);
            return Task.CompletedTask;
        };
        server.ClientAcknowledgedPublishPacketAsync += e =>
        {
            if (e.IsCompleted) Remove(e.ClientId, e.PublishPacket);
            return Task.CompletedTask;
        };
        server.QueuedApplicationMessageOverwrittenAsync += e =>
        {
            // MQTTnet's own per-client limit dropped a message we had handed over: it is gone for good.
            if (e.Packet is MqttPublishPacket publish && Remove(e.ReceiverClientId, publish))
                Interlocked.Increment(ref _dropped);
            return Task.CompletedTask;
        };
    }

    private async Task OnConnectedAsync(MqttServer server, ClientConnectedEventArgs e)
    {
        if (!_connecting.TryRemove(e.ClientId, out var connecting)) return;
        // A clean start replaced whatever was stored under this id.
        if (connecting.CleanStart || connecting.Expiry is null) Forget(e.ClientId);
        if (connecting.Expiry is not { } interval) return;
        var session = await server.GetSessionAsync(e.ClientId);
        var client = _clients.GetOrAdd(e.ClientId, _ => new Client());
        _store.SessionConnected(e.ClientId, interval, e.UserName);
        List<MqttTopicFilter> restore = [];
        List<string> refused = [];
        lock (client)
        {
            client.Session = session;
            foreach (var filter in client.Restoring ? [.. client.Subscriptions.Values] : new List<MqttTopicFilter>())
            {
                if (MayRead(e.UserName, filter.Topic))
                {
                    restore.Add(filter);
                    continue;
                }
                client.Subscriptions.Remove(filter.Topic);
                _store.Unsubscribe(e.ClientId, filter.Topic);
                refused.Add(filter.Topic);
            }
        }
        if (refused.Count > 0)
        {
            _logger.LogWarning(
                "Did not restore subscriptions {Filters} of {ClientId}: its user {User} may not read them",
                refused, e.ClientId, e.UserName);
        }
        // MQTTnet runs this before it reads the client's first packet: the restored subscriptions are in place before
        // the client can subscribe or acknowledge anything, and messages matching them are now queued for it.
        if (restore.Count > 0)
            await server.SubscribeAsync(e.ClientId, [.. restore.Select(f => new MqttTopicFilter
            {
                Topic = f.Topic, QualityOfServiceLevel = f.QualityOfServiceLevel, NoLocal = f.NoLocal,
                RetainHandling = MqttRetainHandling.DoNotSendOnSubscribe,
            })]);
        lock (client)
        {
            client.Restoring = false;
            client.Live = true;
            var now = DateTimeOffset.UtcNow;
            foreach (var queued in _store.Queue(e.ClientId, client.Handed))
            {
                if (MayRead(e.UserName, queued.Message.Topic))
                {
                    HandOver(client, queued, now);
                    continue;
                }
                _store.Dequeue(queued.Sequence);
                client.Queued--;
                Interlocked.Increment(ref _dropped);
            }
        }
        if (restore.Count > 0)
        {
            _logger.LogInformation("Restored {Count} subscriptions of {ClientId} from the broker store",
                restore.Count, e.ClientId);
        }
    }

    private bool MayRead(string? user, string topicOrFilter) => _mayRead is null || _mayRead(user, topicOrFilter);

    /// <summary>
    /// After a restart: queues a publish for every stored client that matches it but has not connected yet.
    /// </summary>
    private void QueueForRestoringClients(MqttApplicationMessage message)
    {
        foreach (var (clientId, client) in _clients)
        {
            lock (client)
            {
                if (!client.Restoring) continue;
                var qos = Qos(client, message);
                if (qos == MqttQualityOfServiceLevel.AtMostOnce) continue;
                Append(clientId, client, MessageExpiry.Copy(message, qos, message.MessageExpiryInterval));
                _capturedFor.GetOrCreateValue(message).Add(clientId);
            }
        }
    }

    private void Intercept(InterceptingClientApplicationMessageEnqueueEventArgs e, Client client)
    {
        var message = e.ApplicationMessage;
        // Retained messages sent on subscribe are the broker's own (sender empty): MQTTnet sends them; the store keeps
        // the retained set.
        if (message.Retain && string.IsNullOrEmpty(e.SenderClientId)) return;
        lock (client)
        {
            if (_capturedFor.TryGetValue(message, out var captured) && captured.Contains(e.ReceiverClientId))
            {
                e.AcceptEnqueue = false;
                return;
            }
            var qos = Qos(client, message);
            if (qos == MqttQualityOfServiceLevel.AtMostOnce) return;
            e.AcceptEnqueue = false;
            var copy = MessageExpiry.Copy(message, qos, message.MessageExpiryInterval);
            var queued = Append(e.ReceiverClientId, client, copy);
            if (client.Live) HandOver(client, queued, DateTimeOffset.UtcNow);
        }
    }

    /// <summary>
    /// Stores a message for a client (dropping its oldest when the queue is full). Call with the client locked.
    /// </summary>
    private QueuedMessage Append(string clientId, Client client, MqttApplicationMessage message)
    {
        if (client.Queued >= _maxQueuedPerClient && _store.DequeueOldest(clientId) is { } oldest)
        {
            client.Handed.Remove(oldest);
            client.Queued--;
            if (Interlocked.Increment(ref _dropped) % 1000 == 1)
            {
                _logger.LogWarning("Queue of {ClientId} is full ({Limit} messages): oldest dropped ({Dropped} so far)",
                    clientId, _maxQueuedPerClient, Dropped);
            }
        }
        var expiresAt = message.MessageExpiryInterval > 0
            ? DateTimeOffset.UtcNow.AddSeconds(message.MessageExpiryInterval)
            : (DateTimeOffset?)null;
        var sequence = _store.Enqueue(clientId, message, expiresAt);
        client.Queued++;
        return new QueuedMessage(sequence, message, expiresAt);
    }

    /// <summary>
    /// Gives a stored message to the client's MQTTnet session, with the expiry it has left. Call with the client
    /// locked.
    /// </summary>
    private void HandOver(Client client, QueuedMessage queued, DateTimeOffset now)
    {
        uint expiry = 0;
        if (queued.ExpiresAt is { } expiresAt)
        {
            if (expiresAt <= now)
            {
                _store.Dequeue(queued.Sequence);
                client.Queued--;
                return;
            }
            expiry = (uint)Math.Ceiling((expiresAt - now).TotalSeconds);
        }
        var message = MessageExpiry.Copy(queued.Message, queued.Message.QualityOfServiceLevel, expiry);
        if (client.Session is null || !client.Session.TryEnqueueApplicationMessage(message, out _)) return;
        _handed.AddOrUpdate(message.UserProperties, new StrongBox<long>(queued.Sequence));
        client.Handed.Add(queued.Sequence);
    }

    /// <summary>
    /// Removes the stored row of an acknowledged or dropped PUBLISH packet; false when it was not ours.
    /// </summary>
    private bool Remove(string clientId, MqttPublishPacket packet)
    {
        if (packet.UserProperties is not { } key || !_handed.TryGetValue(key, out var sequence)
            || !_clients.TryGetValue(clientId, out var client))
        {
            return false;
        }
        _handed.Remove(key);
        lock (client)
        {
            if (!client.Handed.Remove(sequence.Value)) return false;
            _store.Dequeue(sequence.Value);
            client.Queued--;
        }
        return true;
    }

    private void Forget(string clientId)
    {
        if (_clients.TryRemove(clientId, out var client)) lock (client) _store.DeleteSession(clientId);
    }

    /// <summary>
    /// The QoS the client gets a message at: the message's, capped by the client's best matching subscription
    /// (at most once when none matches).
    /// </summary>
    private static MqttQualityOfServiceLevel Qos(Client client, MqttApplicationMessage message)
    {
        var granted = MqttQualityOfServiceLevel.AtMostOnce;
        foreach (var filter in client.Subscriptions.Values)
        {
            if (filter.QualityOfServiceLevel > granted && TopicScheme.Matches(filter.Topic, message.Topic))
                granted = filter.QualityOfServiceLevel;
        }
        return message.QualityOfServiceLevel < granted ? message.QualityOfServiceLevel : granted;
    }

    public void Dispose() => _store.Dispose();

    private readonly record struct Connecting(bool CleanStart, uint? Expiry);

    private sealed class Client
    {
        /// <summary>
        /// Known from the store, its client not back since the broker started: MQTTnet has no session for it yet.
        /// </summary>
        public bool Restoring;
        /// <summary>Connected, with its queue handed over: new messages go straight to its MQTTnet session.</summary>
        public bool Live;
        public MqttSessionStatus? Session;
        public readonly Dictionary<string, MqttTopicFilter> Subscriptions = new(StringComparer.Ordinal);
        /// <summary>
        /// Rows handed to MQTTnet in this run and not yet acknowledged (MQTTnet redelivers those itself on a
        /// reconnect).
        /// </summary>
        public readonly HashSet<long> Handed = [];
        public int Queued;
    }
}
