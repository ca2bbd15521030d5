using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace EdgeEvents.Pipeline.Mqtt;

public sealed partial class MqttTransport
{
    // Pooled: one per publish, usually completing later (the PUBACK or the socket write).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask PublishAsync(OutgoingMessage message, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var mqttMessage = ToMqtt(message);
        while (true)
        {
            if (!_client.IsConnected)
            {
                if (message.Delivery == Delivery.AtMostOnce)
                {
                    CountDroppedWhileDisconnected();
                    return;
                }
                await _connected.Task.WaitAsync(ct);
            }
            try
            {
                ct.ThrowIfCancellationRequested();
                // The token bounds our wait, never MQTTnet's write (see UntilSent); an acknowledgement, AckTimeout too.
                var send = _client.PublishAsync(mqttMessage, CancellationToken.None);
                var result = message.Delivery == Delivery.AtMostOnce
                    ? await UntilSent(send, ct)
                    : await UntilAcknowledged(send, message.Topic, ct);
                if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
                    throw new InvalidOperationException(
                        $"Broker refused publish to '{message.Topic}': {result.ReasonCode} {result.ReasonString}");
                return;
            }
            catch (Exception ex) when (IsLinkFailure(ex, ct))
            {
                if (message.Delivery == Delivery.AtMostOnce)
                {
                    // The link died under the publish (before the client noticed): an at-most-once message is dropped,
                    // as it would have been a moment later, not thrown at a camera that has the next frame ready.
                    CountDroppedWhileDisconnected();
                    return;
                }
                // At-least-once: send again after the reconnect; pause if the client has not noticed the loss yet.
                if (_client.IsConnected) await Task.Delay(Jitter(_options.ReconnectMinDelay), ct);
            }
        }
    }

    private static bool IsLinkFailure(Exception ex, CancellationToken ct) =>
        ex is MqttCommunicationException or IOException or SocketException
        // MQTTnet cancels the writes pending on a connection it tears down; our own token never reaches it.
        || (ex is OperationCanceledException && !ct.IsCancellationRequested);

    private void CountDroppedWhileDisconnected()
    {
        Interlocked.Increment(ref _droppedWhileDisconnected);
        EdgeTelemetry.TransportDropped(System, "disconnected");
    }

    /// <summary>
    /// The MQTT form of <paramref name="message"/> (QoS, retain, MQTT 5 properties, id and headers as user properties).
    /// </summary>
    public static MqttApplicationMessage ToMqtt(OutgoingMessage message)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(message.Topic)
            .WithPayload(new ReadOnlySequence<byte>(message.Payload))
            .WithQualityOfServiceLevel(message.Delivery == Delivery.AtLeastOnce
                ? MqttQualityOfServiceLevel.AtLeastOnce
                : MqttQualityOfServiceLevel.AtMostOnce)
            .WithRetainFlag(message.Retain);
        if (message.ContentType is not null) builder.WithContentType(message.ContentType);
        if (message.Expiry is { } expiry) builder.WithMessageExpiryInterval((uint)Math.Max(1, expiry.TotalSeconds));
        if (message.ResponseTopic is not null) builder.WithResponseTopic(message.ResponseTopic);
        if (!message.CorrelationData.IsEmpty) builder.WithCorrelationData(message.CorrelationData.ToArray());
        if (message.MessageId is not null)
            builder.WithUserProperty(MessageIdProperty, Encoding.UTF8.GetBytes(message.MessageId));
        if (message.Headers is not null)
        {
            foreach (var (name, value) in message.Headers)
                builder.WithUserProperty(name, Encoding.UTF8.GetBytes(value));
        }
        return builder.Build();
    }
}
