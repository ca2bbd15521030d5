using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    /// <summary>
    /// Delivers the retained messages, then the live ones that arrived meanwhile, so none overtakes an older retained
    /// one; held live messages the replayed ones supersede are not delivered.
    /// </summary>
    private async Task ReplayRetainedAsync(
        NatsSubscription subscription, CoreSubscription sub, List<string> retained, CancellationToken ct)
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
    private async Task DeliverRetainedAsync(
        NatsSubscription subscription, CoreSubscription sub, string filter, Dictionary<string, string> replayed,
        CancellationToken ct)
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
                var fetch = new NatsJSFetchOpts { MaxMsgs = batch };
                await foreach (var msg in consumer.FetchNoWaitAsync(fetch, BytesSerializer, ct))
                {
                    count++;
                    if (Accept(msg.Subject, msg.Data, msg.Headers, replyTo: null, retained: true) is not { } received)
                        continue;
                    // Published after the subscription (its live copy is held back and will be dropped): live, as on
                    // MQTT.
                    if (received.MessageId is { } liveId && sub.Holds(received.Topic, liveId))
                        received = received with { Retained = false };
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
}
