using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>Bytes one JetStream pull may bring: larger pulls of big messages trip the server's slow-consumer limit.</summary>
    private const int PullBytes = 8 * 1024 * 1024;

    private static readonly NatsRawSerializer<byte[]> BytesSerializer = NatsRawSerializer<byte[]>.Default;

    /// <summary>
    /// Without <see cref="SubscriptionRequest.Durable"/>: a core subscription (queue group when
    /// <see cref="SubscriptionRequest.Group"/> is set), preceded by the retained messages of the subjects it covers.
    /// With it: a JetStream durable pull consumer of that name on the stream storing the subject; processes sharing
    /// the name share the consumer and so split the stream. Without JetStream a durable request falls back to a core
    /// subscription in a queue group of that name (shared the same way; nothing is kept while the client is away).
    /// Waits for the connection.
    /// </summary>
    public async Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await WaitReadyAsync(ct);
        var subscription = new NatsSubscription(this, request);
        var durable = request.Durable is { Length: > 0 } name ? name : null;
        if (durable is not null && !_jetStreamActive)
        {
            _logger.LogWarning("No JetStream: {Filter} is read through a core subscription (queue group {Durable}); messages published while this client is away are lost", request.Filter, durable);
            durable = null;
        }
        var queueGroup = request.Group ?? request.Durable;
        try
        {
            var subjects = NatsSubjects.ForFilter(request.Filter);
            for (var i = 0; i < subjects.Count; i++)
            {
                if (durable is not null)
                    await StartDurableAsync(subscription, subjects[i], i == 0 && subjects.Count > 1 ? $"{durable}-parent" : durable, ct);
                else
                    await StartCoreAsync(subscription, subjects[i], queueGroup, ct);
            }
            // SUB is fire-and-forget; the pong means the server has it, as a SUBACK would in MQTT.
            await _connection.PingAsync(ct);
        }
        catch
        {
            await subscription.DisposeAsync();
            throw;
        }
        _subscriptions[subscription] = 0;
        return subscription;
    }

    private async Task StartCoreAsync(NatsSubscription subscription, string subject, string? queueGroup, CancellationToken ct)
    {
        var retained = _jetStreamActive && _retainedStream is not null
            ? _retainedStream.Subjects!.Select(s => NatsSubjects.Intersect(subject, s)).OfType<string>().ToList()
            : [];
        var sub = new CoreSubscription(this, subscription, subject, queueGroup, holdLive: retained.Count > 0);
        subscription.Add(sub);
        await _connection.AddSubAsync(sub, ct);
        if (retained.Count > 0)
            subscription.Add(Task.Run(() => ReplayRetainedAsync(subscription, sub, retained, subscription.Stopping), CancellationToken.None));
    }

    /// <summary>
    /// Delivers the retained messages, then the live ones that arrived meanwhile, so none overtakes an older retained
    /// one; held live messages the replayed ones supersede are not delivered.
    /// </summary>
    private async Task ReplayRetainedAsync(NatsSubscription subscription, CoreSubscription sub, List<string> retained, CancellationToken ct)
    {
        var replayed = new Dictionary<string, string>();
        try
        {
            foreach (var filter in retained) await DeliverRetainedAsync(subscription, sub, filter, replayed, ct);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
        }
        finally
        {
            sub.ReleaseHeld(replayed);
        }
    }

    /// <summary>
    /// Replays the last message of every subject matching <paramref name="filter"/> from the retained stream,
    /// through a short-lived consumer that starts at the last message per subject. Notes each delivered message's id
    /// by topic in <paramref name="replayed"/>.
    /// </summary>
    private async Task DeliverRetainedAsync(NatsSubscription subscription, CoreSubscription sub, string filter, Dictionary<string, string> replayed, CancellationToken ct)
    {
        const int batch = 256;
        var stream = _retainedStream!.Name!;
        try
        {
            // Named: nats-server 2.9 mis-parses the create subject of unnamed consumers with multi-token filters.
            var consumer = await _js.CreateConsumerAsync(stream, new ConsumerConfig($"retained-{Guid.NewGuid():N}")
            {
                FilterSubject = filter,
                DeliverPolicy = ConsumerConfigDeliverPolicy.LastPerSubject,
                AckPolicy = ConsumerConfigAckPolicy.None,
                InactiveThreshold = TimeSpan.FromSeconds(30),
                MemStorage = true,
            }, ct);
            int count;
            do
            {
                count = 0;
                await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = batch }, BytesSerializer, ct))
                {
                    count++;
                    if (Accept(msg.Subject, msg.Data, msg.Headers, replyTo: null, retained: true) is not { } received) continue;
                    // Published after the subscription (its live copy is held back and will be dropped): live, as on MQTT.
                    if (received.MessageId is { } liveId && sub.Holds(received.Topic, liveId)) received = received with { Retained = false };
                    await subscription.Channel.WriteAsync(received, ct);
                    if (received.MessageId is { } id) replayed[received.Topic] = id;
                }
            } while (count == batch);
            await _js.DeleteConsumerAsync(stream, consumer.Info.Name, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning("Retained messages of {Filter} unavailable: {Reason}", filter, ex.Message);
        }
    }

    private async Task StartDurableAsync(NatsSubscription subscription, string subject, string name, CancellationToken ct)
    {
        string? stream = null;
        await foreach (var found in _js.ListStreamNamesAsync(subject, ct))
            stream ??= found;
        if (stream is null)
            throw new InvalidOperationException($"No JetStream stream stores '{subject}', so durable consumer '{name}' cannot be created. " +
                "Enable Transport:Nats:JetStream (and JetStream on the server, nats-server -js) or add the subject to a stream.");
        var consumer = await CreateDurableAsync(stream, name, subject, ct);
        subscription.Add(Task.Run(() => PumpDurableAsync(subscription, stream, name, subject, consumer, subscription.Stopping), CancellationToken.None));
    }

    private ValueTask<INatsJSConsumer> CreateDurableAsync(string stream, string name, string subject, CancellationToken ct) =>
        _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(name)
        {
            DurableName = name,
            FilterSubject = subject,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            AckWait = _jetStream?.AckWait ?? TimeSpan.FromSeconds(30),
            // The NATS counterpart of an MQTT session expiry: the server forgets a consumer nobody pulled from for that long.
            InactiveThreshold = _options.SessionExpiry,
        }, ct);

    /// <summary>
    /// Pulls in batches no larger than the room left in the subscription's channel (and ~8 MB), so a slow reader
    /// holds back the pulls instead of the connection's socket reader, which also carries acknowledgements.
    /// </summary>
    private async Task PumpDurableAsync(NatsSubscription subscription, string stream, string name, string subject, INatsJSConsumer? consumer, CancellationToken ct)
    {
        var request = subscription.Request;
        var largest = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await WaitReadyAsync(ct);
                consumer ??= await CreateDurableAsync(stream, name, subject, ct);
                var room = request.Overload == OverloadPolicy.Wait ? request.Capacity - subscription.Channel.Reader.Count : request.Capacity;
                // Until a message has been seen, assume the largest the server allows: the first pull stays small.
                var size = largest > 0 ? Math.Max(largest, 1024) : _connection.ServerInfo?.MaxPayload ?? 1024 * 1024;
                var batch = Math.Clamp(Math.Min(room, PullBytes / size), 1, _connection.Opts.SubPendingChannelCapacity);
                var opts = new NatsJSFetchOpts { MaxMsgs = batch, Expires = TimeSpan.FromSeconds(10), IdleHeartbeat = TimeSpan.FromSeconds(2) };
                await foreach (var msg in consumer.FetchAsync(opts, BytesSerializer, ct))
                {
                    largest = Math.Max(largest, msg.Data?.Length ?? 0);
                    await DeliverDurableAsync(subscription, msg, ct);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The consumer may be gone (server lost its store): recreate it on the next round.
                _logger.LogWarning("Durable consumer {Name} on {Stream}: {Reason}; pulling again", name, stream, ex.Message);
                consumer = null;
                try { await Task.Delay(Jitter(_options.ReconnectMinDelay), ct); } catch (OperationCanceledException) { break; }
            }
        }
    }

    private async Task DeliverDurableAsync(NatsSubscription subscription, INatsJSMsg<byte[]> msg, CancellationToken ct)
    {
        // JetStream keeps no reply subject; the NATS one here is the acknowledgement subject, never a response topic.
        if (Accept(msg.Subject, msg.Data, msg.Headers, replyTo: null, retained: false) is not { } received)
        {
            await msg.AckTerminateAsync(cancellationToken: ct);
            return;
        }
        // An id-less message's stream sequence is its id: every redelivery of it carries the same one.
        if (received.MessageId is null && msg.Metadata is { } metadata)
            received = received with { MessageId = $"{metadata.Stream}-{metadata.Sequence.Stream}" };
        if (subscription.Request.ManualAck)
        {
            await subscription.Channel.WriteAsync(received with { Acknowledge = c => msg.AckAsync(cancellationToken: c) }, ct);
            return;
        }
        await subscription.Channel.WriteAsync(received, ct);
        await msg.AckAsync(cancellationToken: ct);
    }

    /// <summary>Turns a NATS message into a <see cref="ReceivedMessage"/>, or refuses it (too large, expired) with null.</summary>
    private ReceivedMessage? Accept(string subject, byte[]? data, NatsHeaders? headers, string? replyTo, bool retained)
    {
        var topic = NatsSubjects.ToTopic(subject);
        var payload = data ?? [];
        if (payload.Length > _options.MaxPayloadBytes)
        {
            Rejected?.Invoke(new RejectedMessage(topic, payload.Length, ErrorKinds.PayloadTooLarge,
                $"Payload of {payload.Length} bytes exceeds the limit of {_options.MaxPayloadBytes} bytes."));
            return null;
        }
        string? contentType = null, messageId = null, responseTopic = null, expires = null;
        var correlation = ReadOnlyMemory<byte>.Empty;
        Dictionary<string, string>? others = null;
        if (headers is not null)
        {
            foreach (var (name, values) in headers)
            {
                var value = values.ToString();
                if (Is(name, ContentTypeHeader)) contentType = value;
                else if (Is(name, MessageIdHeader)) messageId = value;
                else if (Is(name, ExpiresHeader)) expires = value;
                else if (Is(name, ReplyToHeader)) responseTopic = value;
                else if (Is(name, CorrelationHeader)) correlation = DecodeBase64(value);
                else (others ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase))[name] = value;
            }
        }
        if (expires is not null && DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt) && expiresAt <= DateTimeOffset.UtcNow)
        {
            Interlocked.Increment(ref _expired);
            EdgeTelemetry.TransportDropped(System, "expired");
            return null;
        }
        // Our publishes always carry a message id and their response topic as a header; a bare reply subject on
        // such a message is a JetStream publish's acknowledgement inbox, not an invitation to answer.
        if (responseTopic is null && messageId is null && replyTo is not null) responseTopic = NatsSubjects.ToTopic(replyTo);
        return new ReceivedMessage(topic, payload)
        {
            ContentType = contentType,
            Retained = retained,
            ResponseTopic = responseTopic,
            CorrelationData = correlation,
            MessageId = messageId,
            Headers = others ?? ReceivedMessage.EmptyHeaders,
        };
    }

    /// <summary>Malformed correlation data from a foreign publisher is dropped, not allowed to stop the subscription.</summary>
    private static byte[] DecodeBase64(string value)
    {
        var bytes = new byte[value.Length * 3 / 4];
        return Convert.TryFromBase64String(value, bytes, out var written) ? bytes[..written] : [];
    }

    private static bool Is(string name, string header) => string.Equals(name, header, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A core NATS subscription that turns each message into a <see cref="ReceivedMessage"/> on the client's socket
    /// reader and writes it straight into the subscription's channel: no client-side queue and pump in between. That
    /// reader also carries pongs and replies, so it never waits here. Under <see cref="OverloadPolicy.Wait"/> a message
    /// that finds the channel full becomes a pending write (the channel completes pending writes in arrival order);
    /// once as many are pending as the client would queue for a subscription (<see cref="NatsOpts.SubPendingChannelCapacity"/>),
    /// newer messages are dropped and counted: core NATS has no flow control to hold the publisher back with.
    /// </summary>
    private sealed class CoreSubscription : NatsSubBase
    {
        private readonly NatsTransport _owner;
        private readonly NatsSubscription _subscription;
        private readonly int _pendingLimit;
        private readonly Lock _gate = new();
        /// <summary>Live messages held back while retained ones are replayed; null once released.</summary>
        private List<ReceivedMessage>? _held;
        private int _pending;

        public CoreSubscription(NatsTransport owner, NatsSubscription subscription, string subject, string? queueGroup, bool holdLive)
            : base(owner._connection, owner._connection.SubscriptionManager, subject, queueGroup, opts: null)
        {
            _owner = owner;
            _subscription = subscription;
            _pendingLimit = owner._connection.Opts.SubPendingChannelCapacity;
            _held = holdLive ? [] : null;
        }

        protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
        {
            try
            {
                // The buffers belong to the socket reader: Build copies the payload into an array of the message's own.
                var msg = NatsMsg<byte[]>.Build(subject, replyTo, headersBuffer, payloadBuffer, Connection, Connection.HeaderParser, BytesSerializer);
                if (_owner.Accept(msg.Subject, msg.Data, msg.Headers, msg.ReplyTo, retained: false) is { } received && !TryHold(received))
                    Deliver(received);
            }
            catch (Exception ex)
            {
                // Whatever goes wrong with one message (a throwing Rejected handler) must not reach the connection's reader.
                _owner._logger.LogError(ex, "Message on {Subject} dropped", subject);
                _subscription.Channel.CountDropped();
            }
            return ValueTask.CompletedTask;
        }

        /// <summary>While retained messages are replayed, keeps a live one back (or drops it when too many wait) and returns true.</summary>
        private bool TryHold(ReceivedMessage received)
        {
            if (Volatile.Read(ref _held) is null) return false;
            lock (_gate)
            {
                if (_held is null) return false;
                if (_held.Count < _pendingLimit) _held.Add(received);
                else _subscription.Channel.CountDropped();
                return true;
            }
        }

        /// <summary>True if a live message with this id on this topic is held back.</summary>
        public bool Holds(string topic, string messageId)
        {
            lock (_gate)
                return _held?.Exists(m => m.MessageId == messageId && m.Topic == topic) == true;
        }

        /// <summary>
        /// Delivers the held live messages except, per topic, the one the replay already delivered (its id is in
        /// <paramref name="replayed"/>) and those held before it, which are older than the state just replayed.
        /// </summary>
        public void ReleaseHeld(IReadOnlyDictionary<string, string> replayed)
        {
            lock (_gate)
            {
                var held = _held ?? [];
                var stale = new Dictionary<string, int>();
                for (var i = 0; i < held.Count; i++)
                {
                    if (held[i].MessageId is { } id && replayed.TryGetValue(held[i].Topic, out var replayedId) && id == replayedId)
                        stale[held[i].Topic] = i;
                }
                for (var i = 0; i < held.Count; i++)
                {
                    if (!stale.TryGetValue(held[i].Topic, out var upTo) || i > upTo) Deliver(held[i]);
                }
                Volatile.Write(ref _held, null);
            }
        }

        private void Deliver(ReceivedMessage message)
        {
            if (Volatile.Read(ref _pending) >= _pendingLimit)
            {
                _subscription.Channel.CountDropped();
                return;
            }
            var write = _subscription.Channel.WriteAsync(message, CancellationToken.None);
            if (!write.IsCompletedSuccessfully) _ = AwaitPendingAsync(write);
        }

        private async Task AwaitPendingAsync(ValueTask write)
        {
            Interlocked.Increment(ref _pending);
            try
            {
                await write;
            }
            catch (ChannelClosedException)
            {
                // Unsubscribed while the message waited.
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }

        // The channel belongs to the NatsSubscription (several subjects may feed it); it completes it on dispose.
        protected override void TryComplete()
        {
        }
    }

    private sealed class NatsSubscription(NatsTransport owner, SubscriptionRequest request) : IMessageSubscription
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<NatsSubBase> _subs = [];
        private readonly List<Task> _pumps = [];
        private int _disposed;

        public SubscriptionRequest Request { get; } = request;
        public SubscriptionChannel Channel { get; } = new(request, "nats");
        public ChannelReader<ReceivedMessage> Messages => Channel.Reader;
        /// <summary>Dropped by the overload policy, and core messages dropped because too many waited for a full channel.</summary>
        public long Dropped => Channel.Dropped;
        public long Duplicates => Channel.Duplicates;
        public CancellationToken Stopping => _stop.Token;

        public void Add(NatsSubBase sub) => _subs.Add(sub);
        public void Add(Task pump) => _pumps.Add(pump);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            owner._subscriptions.TryRemove(this, out _);
            await _stop.CancelAsync();
            foreach (var sub in _subs)
            {
                try { await sub.DisposeAsync(); }
                catch (Exception ex) { owner._logger.LogDebug(ex, "Unsubscribe from {Subject} failed", sub.Subject); }
            }
            await Task.WhenAll(_pumps);
            Channel.Complete();
            _stop.Dispose();
        }
    }
}
