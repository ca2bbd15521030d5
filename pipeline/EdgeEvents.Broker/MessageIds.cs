using System.Text;
using EdgeEvents.Pipeline.Mqtt;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeEvents.Broker;

/// <summary>
/// Stamps a message id (the <c>msg-id</c> user property the transports read) on every QoS ≥ 1 publish that carries
/// none, as the broker accepts it. MQTTnet's server resends an unacknowledged message after a reconnect under a new
/// packet identifier and without the DUP flag, so a subscriber could not tell that resend from a second identical
/// publish (a plain-text question asked again); the stamp travels with the message into every queue, store and
/// resend, so all its deliveries share one id, while two publishes always get two.
/// </summary>
internal static class MessageIds
{
    public static void Attach(MqttServer server)
    {
        server.InterceptingPublishAsync += e =>
        {
            var message = e.ApplicationMessage;
            if (!e.ProcessPublish || message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
                return Task.CompletedTask;
            if (message.UserProperties?.Exists(p => p.Name == MqttTransport.MessageIdProperty) == true)
                return Task.CompletedTask;
            (message.UserProperties ??= []).Add(new MqttUserProperty(MqttTransport.MessageIdProperty,
                Encoding.UTF8.GetBytes(Contracts.Messages.MessageId.New())));
            return Task.CompletedTask;
        };
    }
}
