using System.Buffers;
using System.Text;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeEvents.Pipeline.Mqtt;

public sealed partial class MqttTransport
{
    public async Task<IMessageSubscription> SubscribeAsync(SubscriptionRequest request, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var subscription = new MqttSubscription(this, Interlocked.Increment(ref _nextSubscriptionId), request);
        _subscriptions[subscription.Key] = subscription;
        Interlocked.Exchange(ref _subscriptionAdded, NewSignal()).TrySetResult();
        // While disconnected the subscription is only recorded; the connection loop sends it on (re)connect.
        if (_client.IsConnected)
        {
            try
            {
                await SendSubscribeAsync(subscription, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !_client.IsConnected)
            {
                _logger.LogDebug(ex, "Subscribe to {Filter} deferred until reconnect", request.Filter);
            }
            catch
            {
                _subscriptions.TryRemove(subscription.Key, out _);
                throw;
            }
        }
        return subscription;
    }

    private async Task ResubscribeAllAsync(CancellationToken ct)
    {
        foreach (var subscription in _subscriptions.Values.OrderBy(s => s.Key))
            await SendSubscribeAsync(subscription, ct);
    }

    private async Task SendSubscribeAsync(MqttSubscription subscription, CancellationToken ct)
    {
        await _subscribeLock.WaitAsync(ct);
        try
        {
            var request = subscription.Request;
            var result = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f
                    .WithTopic(subscription.WireFilter)
                    .WithRetainAsPublished(request.RetainAsPublished)
                    .WithQualityOfServiceLevel(request.Delivery == Delivery.AtLeastOnce
                        ? MqttQualityOfServiceLevel.AtLeastOnce
                        : MqttQualityOfServiceLevel.AtMostOnce))
                .Build(), ct);
            foreach (var item in result.Items)
            {
                if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
                {
                    throw new InvalidOperationException(
                        $"Broker refused subscription to '{subscription.WireFilter}': {item.ResultCode}");
                }
            }
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    private async Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        var topic = message.Topic;
        var size = message.Payload.Length;
        if (size > _options.MaxPayloadBytes)
        {
            Rejected?.Invoke(new RejectedMessage(topic, (int)Math.Min(size, int.MaxValue), ErrorKinds.PayloadTooLarge,
                $"Payload of {size} bytes exceeds the limit of {_options.MaxPayloadBytes} bytes."));
            return;
        }
        var targets = await TargetsAsync(topic);
        if (targets.Count == 0)
        {
            _logger.LogDebug("No subscription for {Topic}; message dropped", topic);
            return;
        }

        var received = ToReceived(message);
        if (received.MessageId is null && message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce)
            received = received with { MessageId = _redeliveryIds.IdFor(message, e.PacketIdentifier) };
        // Manual acknowledgement only when exactly one subscription owns the message; otherwise ack on receipt.
        if (targets.Count == 1 && targets[0].Request.ManualAck
            && message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce)
        {
            e.AutoAcknowledge = false;
            received = received with { Acknowledge = ct => new ValueTask(e.AcknowledgeAsync(ct)) };
        }
        foreach (var subscription in targets)
        {
            try
            {
                await subscription.Channel.WriteAsync(received, _disposing.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
            {
                // Shutting down or unsubscribed: the broker redelivers unacknowledged QoS 1 messages.
            }
        }
    }

    /// <summary>
    /// The subscriptions a topic goes to. A persistent session delivers its backlog the moment the link is up, often
    /// before the worker has subscribed again; for a short grace period after connecting we wait for a matching
    /// subscription instead of dropping. MQTTnet hands messages over one at a time, so waiting keeps their order.
    /// </summary>
    private async ValueTask<List<MqttSubscription>> TargetsAsync(string topic)
    {
        while (true)
        {
            var added = _subscriptionAdded.Task;
            var targets = new List<MqttSubscription>(1);
            foreach (var subscription in _subscriptions.Values)
                if (TopicScheme.Matches(subscription.Request.Filter, topic)) targets.Add(subscription);
            if (targets.Count > 1) targets.Sort((a, b) => a.Key.CompareTo(b.Key));
            var remaining = SubscribeGracePeriod - (DateTime.UtcNow - _connectedAt);
            if (targets.Count > 0 || remaining <= TimeSpan.Zero || _disposed != 0) return targets;
            try { await added.WaitAsync(remaining, _disposing.Token); }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException) { }
        }
    }

    /// <summary>
    /// A received MQTT message as the transports deliver it (id and headers from its user properties).
    /// </summary>
    public static ReceivedMessage ToReceived(MqttApplicationMessage message)
    {
        string? messageId = null;
        Dictionary<string, string>? headers = null;
        if (message.UserProperties is { Count: > 0 } properties)
        {
            headers = new Dictionary<string, string>(properties.Count);
            foreach (var property in properties)
            {
                var value = Encoding.UTF8.GetString(property.ValueBuffer.Span);
                if (property.Name == MessageIdProperty) messageId = value;
                else headers[property.Name] = value;
            }
        }
        // MQTTnet 5 gives every received PUBLISH a payload array of its own and never reuses it, so a single-segment
        // payload is handed on without a copy (a 100 KB copy lands on the large-object heap, per message).
        var payload = message.Payload.IsSingleSegment ? message.Payload.First : message.Payload.ToArray();
        return new ReceivedMessage(message.Topic, payload)
        {
            ContentType = message.ContentType,
            Retained = message.Retain,
            ResponseTopic = message.ResponseTopic,
            CorrelationData = message.CorrelationData ?? ReadOnlyMemory<byte>.Empty,
            MessageId = messageId,
            Headers = headers ?? ReceivedMessage.EmptyHeaders,
        };
    }

    private async Task UnsubscribeAsync(MqttSubscription subscription)
    {
        if (!_subscriptions.TryRemove(subscription.Key, out _)) return;
        subscription.Channel.Complete();
        if (_disposed != 0 || !_client.IsConnected) return;
        try
        {
            var unsubscribe = new MqttClientUnsubscribeOptionsBuilder()
                .WithTopicFilter(subscription.WireFilter)
                .Build();
            await _client.UnsubscribeAsync(unsubscribe, _disposing.Token);
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "Unsubscribe from {Filter} failed", subscription.WireFilter);
        }
    }

    private sealed class MqttSubscription(MqttTransport owner, long key, SubscriptionRequest request)
        : IMessageSubscription
    {
        public long Key { get; } = key;
        public SubscriptionRequest Request { get; } = request;
        public SubscriptionChannel Channel { get; } = new(request, "mqtt");
        public string WireFilter { get; } =
            request.Group is { Length: > 0 } g ? $"$share/{g}/{request.Filter}" : request.Filter;
        public ChannelReader<ReceivedMessage> Messages => Channel.Reader;
        public long Dropped => Channel.Dropped;
        public long Duplicates => Channel.Duplicates;
        public ValueTask DisposeAsync() => new(owner.UnsubscribeAsync(this));
    }
}
