using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// Bytes one JetStream pull may bring: larger pulls of big messages trip the server's slow-consumer limit.
    /// </summary>
    private const int PullBytes = 8 * 1024 * 1024;

    private async Task StartDurableAsync(
        NatsSubscription subscription, string subject, string name, CancellationToken ct)
    {
        string? stream = null;
        await foreach (var found in _js.ListStreamNamesAsync(subject, ct))
            stream ??= found;
        if (stream is null)
        {
            throw new InvalidOperationException(
                $"No JetStream stream stores '{subject}', so durable consumer '{name}' cannot be created. " +
                "Enable Transport:Nats:JetStream (and JetStream on the server, nats-server -js) " +
                "or add the subject to a stream.");
        }
        var consumer = await CreateDurableAsync(stream, name, subject, ct);
        subscription.Add(Task.Run(
            () => PumpDurableAsync(subscription, stream, name, subject, consumer, subscription.Stopping),
            CancellationToken.None));
    }

    private ValueTask<INatsJSConsumer> CreateDurableAsync(
        string stream, string name, string subject, CancellationToken ct) =>
        _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(name)
        {
            DurableName = name,
            FilterSubject = subject,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            AckWait = _jetStream?.AckWait ?? TimeSpan.FromSeconds(30),
            // The NATS counterpart of an MQTT session expiry: the server forgets a consumer nobody pulled from for
            // that long.
            InactiveThreshold = _options.SessionExpiry,
        }, ct);

    /// <summary>
    /// Pulls in batches no larger than the room left in the subscription's channel (and ~8 MB), so a slow reader
    /// holds back the pulls instead of the connection's socket reader, which also carries acknowledgements.
    /// </summary>
    private async Task PumpDurableAsync(
        NatsSubscription subscription, string stream, string name, string subject, INatsJSConsumer? consumer,
        CancellationToken ct)
    {
        var request = subscription.Request;
        var largest = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await WaitReadyAsync(ct);
                consumer ??= await CreateDurableAsync(stream, name, subject, ct);
                var room = request.Overload == OverloadPolicy.Wait
                    ? request.Capacity - subscription.Channel.Reader.Count
                    : request.Capacity;
                // Until a message has been seen, assume the largest the server allows: the first pull stays small.
                var size = largest > 0 ? Math.Max(largest, 1024) : _connection.ServerInfo?.MaxPayload ?? 1024 * 1024;
                var batch = Math.Clamp(Math.Min(room, PullBytes / size), 1, _connection.Opts.SubPendingChannelCapacity);
                var opts = new NatsJSFetchOpts
                {
                    MaxMsgs = batch,
                    Expires = TimeSpan.FromSeconds(10),
                    IdleHeartbeat = TimeSpan.FromSeconds(2),
                };
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
                _logger.LogWarning(
                    "Durable consumer {Name} on {Stream}: {Reason}; pulling again", name, stream, ex.Message);
                consumer = null;
                try
                {
                    await Task.Delay(Jitter(_options.ReconnectMinDelay), ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
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
            var acknowledgeable = received with { Acknowledge = c => msg.AckAsync(cancellationToken: c) };
            await subscription.Channel.WriteAsync(acknowledgeable, ct);
            return;
        }
        await subscription.Channel.WriteAsync(received, ct);
        await msg.AckAsync(cancellationToken: ct);
    }
}
