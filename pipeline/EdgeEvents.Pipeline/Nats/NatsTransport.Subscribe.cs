using System.Globalization;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Pipeline.Hosting;
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
    /// the name share the consumer and so split the stream. Waits for the connection.
    /// </summary>
    public async Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await WaitReadyAsync(ct);
        var subscription = new NatsSubscription(this, request);
        try
        {
            var subjects = NatsSubjects.ForFilter(request.Filter);
            for (var i = 0; i < subjects.Count; i++)
            {
                if (request.Durable is { Length: > 0 } durable)
                    await StartDurableAsync(subscription, subjects[i], i == 0 && subjects.Count > 1 ? $"{durable}-parent" : durable, ct);
                else
                    await StartCoreAsync(subscription, subjects[i], ct);
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

    private async Task StartCoreAsync(NatsSubscription subscription, string subject, CancellationToken ct)
    {
        var sub = await _connection.SubscribeCoreAsync(subject, subscription.Request.Group, BytesSerializer, cancellationToken: ct);
        _coreSubscriptions[(NatsSubBase)sub] = subscription;
        subscription.Add(sub);
        var retained = _jetStreamActive && _retainedStream is not null
            ? _retainedStream.Subjects!.Select(s => NatsSubjects.Intersect(subject, s)).OfType<string>().ToList()
            : [];
        subscription.Add(Task.Run(() => PumpCoreAsync(subscription, sub, retained, subscription.Stopping), CancellationToken.None));
    }

    private async Task PumpCoreAsync(NatsSubscription subscription, INatsSub<byte[]> sub, List<string> retained, CancellationToken ct)
    {
        try
        {
            // Live messages queue in the client meanwhile, so none is missed and none overtakes the older retained ones.
            foreach (var filter in retained) await DeliverRetainedAsync(subscription, filter, ct);
            await foreach (var msg in sub.Msgs.ReadAllAsync(ct))
            {
                if (Accept(msg.Subject, msg.Data, msg.Headers, msg.ReplyTo, retained: false) is { } received)
                    await subscription.Channel.WriteAsync(received, ct);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    /// <summary>
    /// Replays the last message of every subject matching <paramref name="filter"/> from the retained stream,
    /// through a short-lived consumer that starts at the last message per subject.
    /// </summary>
    private async Task DeliverRetainedAsync(NatsSubscription subscription, string filter, CancellationToken ct)
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
                    if (Accept(msg.Subject, msg.Data, msg.Headers, replyTo: null, retained: true) is { } received)
                        await subscription.Channel.WriteAsync(received, ct);
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
            EdgeTelemetry.MessagesDropped.Add(1,
                new KeyValuePair<string, object?>("messaging.system", System),
                new KeyValuePair<string, object?>("reason", "expired"));
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

    private ValueTask OnClientDroppedAsync(object? sender, NatsMessageDroppedEventArgs e)
    {
        if (_coreSubscriptions.TryGetValue(e.Subscription, out var subscription)) subscription.CountClientDrop();
        return ValueTask.CompletedTask;
    }

    private sealed class NatsSubscription(NatsTransport owner, SubscriptionRequest request) : IMessageSubscription
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<INatsSub<byte[]>> _subs = [];
        private readonly List<Task> _pumps = [];
        private long _clientDropped;
        private int _disposed;

        public SubscriptionRequest Request { get; } = request;
        public SubscriptionChannel Channel { get; } = new(request, "nats");
        public ChannelReader<ReceivedMessage> Messages => Channel.Reader;
        /// <summary>Dropped by the overload policy, plus dropped by the NATS client when its own queue was full.</summary>
        public long Dropped => Channel.Dropped + Interlocked.Read(ref _clientDropped);
        public long Duplicates => Channel.Duplicates;
        public CancellationToken Stopping => _stop.Token;

        public void Add(INatsSub<byte[]> sub) => _subs.Add(sub);
        public void Add(Task pump) => _pumps.Add(pump);

        /// <summary>
        /// A core subscription's messages wait in the NATS client's queue while this subscription's channel is full;
        /// when that queue overflows too the client drops them (core NATS has no flow control).
        /// </summary>
        public void CountClientDrop()
        {
            Interlocked.Increment(ref _clientDropped);
            EdgeTelemetry.MessagesDropped.Add(1,
                new KeyValuePair<string, object?>("messaging.system", "nats"),
                new KeyValuePair<string, object?>("reason", "overload"),
                new KeyValuePair<string, object?>("filter", Request.Filter));
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            owner._subscriptions.TryRemove(this, out _);
            await _stop.CancelAsync();
            foreach (var sub in _subs)
            {
                owner._coreSubscriptions.TryRemove((NatsSubBase)sub, out _);
                try { await sub.DisposeAsync(); }
                catch (Exception ex) { owner._logger.LogDebug(ex, "Unsubscribe from {Subject} failed", sub.Subject); }
            }
            await Task.WhenAll(_pumps);
            Channel.Complete();
            _stop.Dispose();
        }
    }
}
