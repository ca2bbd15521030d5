using System.Text;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Reliability.Tests;

public sealed class Expiry_Tests
{
    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.EmbeddedDurable)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task An_expired_qos1_frame_is_not_delivered_to_a_persistent_session_that_returns_after_the_expiry(
        string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        var detector = TestTransports.Options(broker.Url, $"expiry-{kind}", persistent: true);
        var request = new SubscriptionRequest("edge/frames/+");
        await using (var away = await TestTransports.ConnectAsync(detector))
            await away.SubscribeAsync(request, default);
        await broker.WaitUntilOfflineAsync(detector.ClientId!, TimeSpan.FromSeconds(10));

        await using (var camera = await TestTransports.ConnectAsync(broker.Url))
        {
            await camera.PublishAsync(Frame("stale", TimeSpan.FromSeconds(1)), default);
            await camera.PublishAsync(Frame("fresh", TimeSpan.FromSeconds(60)), default);
            await camera.PublishAsync(Frame("no expiry", null), default);
        }
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        await using var back = await TestTransports.ConnectAsync(detector);
        await using var frames = await back.SubscribeAsync(request, default);
        var received = await Receive.UntilQuietAsync(frames.Messages, TimeSpan.FromSeconds(2));
        Assert.Equal(["fresh", "no expiry"], received.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
    }

    private static OutgoingMessage Frame(string text, TimeSpan? expiry) =>
        new("edge/frames/cam1", Encoding.UTF8.GetBytes(text))
        {
            Delivery = Delivery.AtLeastOnce, Expiry = expiry, MessageId = text,
        };
}
