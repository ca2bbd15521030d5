using System.Text;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Broker.Tests;

/// <summary>The embedded broker with a data folder (<c>Broker:DataPath</c>) across restarts.</summary>
public sealed class DurableBroker_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_restarted_broker_delivers_what_it_accepted_for_a_persistent_session_in_order_and_keeps_retained_messages()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.EmbeddedDurable);
        var consumer = TestTransports.Options(broker.Url, "durable-consumer", persistent: true);
        var events = new SubscriptionRequest("edge/events/+") { ManualAck = true };
        await using (var camera = await TestTransports.ConnectAsync(broker.Url))
        {
            await camera.PublishAsync(new OutgoingMessage("edge/scene/cam1", "scene"u8.ToArray()) { Retain = true, MessageId = "scene" }, default);
            // 0 reaches the consumer but is not acknowledged; 1 and 2 wait for it while it is away.
            await using (var away = await TestTransports.ConnectAsync(consumer))
            {
                // Not disposed: that would unsubscribe, and the session would stop collecting (workers do the same).
                var subscription = await away.SubscribeAsync(events, default);
                await camera.PublishAsync(Streams.Event("cam1", 0), default);
                await ReceiveAsync(subscription, ["cam1:0"], acknowledge: 0);
            }
            await broker.WaitUntilOfflineAsync(consumer.ClientId!, Timeout);
            await camera.PublishAsync(Streams.Event("cam1", 1), default);
            await camera.PublishAsync(Streams.Event("cam1", 2), default);
        }
        // Back within the same run: MQTTnet redelivers 0 (renumbered), the store hands over 1 and 2; 0 and 1 are acknowledged.
        await using (var back = await TestTransports.ConnectAsync(consumer))
            await ReceiveAsync(await back.SubscribeAsync(events, default), ["cam1:0", "cam1:1", "cam1:2"], acknowledge: 2);
        await broker.WaitUntilOfflineAsync(consumer.ClientId!, Timeout);

        await broker.RestartAsync();
        // Published before the consumer is back: MQTTnet knows no session yet; the store queues them for it.
        await using (var camera = await TestTransports.ConnectAsync(broker.Url))
        {
            await camera.PublishAsync(Streams.Event("cam1", 3), default);
            await camera.PublishAsync(Streams.Event("cam1", 4), default);
        }
        await using (var back = await TestTransports.ConnectAsync(consumer))
            await ReceiveAsync(await back.SubscribeAsync(events, default), ["cam1:2", "cam1:3", "cam1:4"], acknowledge: 3);
        await using (var dashboard = await TestTransports.ConnectAsync(broker.Url))
        {
            await using var scene = await dashboard.SubscribeAsync(new SubscriptionRequest("edge/scene/+"), default);
            Assert.Equal("scene", Text(Assert.Single(await Receive.ExactlyAsync(scene, 1, Timeout))));
        }

        // What was acknowledged is gone from the store: another restart delivers nothing again.
        await broker.WaitUntilOfflineAsync(consumer.ClientId!, Timeout);
        await broker.RestartAsync();
        await using (var again = await TestTransports.ConnectAsync(consumer))
        {
            var subscription = await again.SubscribeAsync(events, default);
            Assert.Empty(await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(2)));
        }
    }

    /// <summary>Receives exactly <paramref name="expected"/>, in order, and acknowledges the first <paramref name="acknowledge"/>.</summary>
    private static async Task ReceiveAsync(IMessageSubscription subscription, string[] expected, int acknowledge)
    {
        var received = await Receive.ExactlyAsync(subscription, expected.Length, Timeout);
        Assert.Equal(expected, received.Select(Text));
        foreach (var message in received.Take(acknowledge)) await message.AckAsync(default);
        Assert.Empty(await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromMilliseconds(500)));
    }

    private static string Text(ReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);
}
