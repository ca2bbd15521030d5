using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace EdgeEvents.Pipeline.Nats;

public sealed partial class NatsTransport
{
    private static readonly NatsRawSerializer<byte[]> BytesSerializer = NatsRawSerializer<byte[]>.Default;

    /// <summary>
    /// Without <see cref="SubscriptionRequest.Durable"/>: a core subscription (queue group when
    /// <see cref="SubscriptionRequest.Group"/> is set), preceded by the retained messages of the subjects it covers.
    /// With it: a JetStream durable pull consumer on the stream storing the subject, named after the user and the
    /// subject when logged in (<see cref="NatsUserScope.DurableConsumer"/>, so permissions can pin it), else after
    /// <see cref="SubscriptionRequest.Durable"/>; processes sharing the name share the consumer and so split the
    /// stream. Without JetStream a durable request falls back to a core
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
            _logger.LogWarning(
                "No JetStream: {Filter} is read through a core subscription (queue group {Durable}); " +
                "messages published while this client is away are lost",
                request.Filter, durable);
            durable = null;
        }
        var queueGroup = request.Group ?? request.Durable;
        try
        {
            var subjects = NatsSubjects.ForFilter(request.Filter);
            for (var i = 0; i < subjects.Count; i++)
            {
                if (durable is not null)
                {
                    var consumerName = NatsUserScope.DurableConsumer(
                        _options.Username, durable, subjects[i], parent: i == 0 && subjects.Count > 1);
                    await StartDurableAsync(subscription, subjects[i], consumerName, ct);
                }
                else
                {
                    await StartCoreAsync(subscription, subjects[i], queueGroup, ct);
                }
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

    private async Task StartCoreAsync(
        NatsSubscription subscription, string subject, string? queueGroup, CancellationToken ct)
    {
        var retained = _jetStreamActive && _retainedStream is not null
            ? _retainedStream.Subjects!.Select(s => NatsSubjects.Intersect(subject, s)).OfType<string>().ToList()
            : [];
        var sub = new CoreSubscription(this, subscription, subject, queueGroup, holdLive: retained.Count > 0);
        subscription.Add(sub);
        await _connection.AddSubAsync(sub, ct);
        if (retained.Count > 0)
        {
            subscription.Add(Task.Run(
                () => ReplayRetainedAsync(subscription, sub, retained, subscription.Stopping),
                CancellationToken.None));
        }
    }
}
