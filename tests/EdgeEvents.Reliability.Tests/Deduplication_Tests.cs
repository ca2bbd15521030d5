using System.Text;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Reliability.Tests;

public sealed class Deduplication_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static OutgoingMessage Copy(string id, string text) =>
        new("edge/events/cam1", Encoding.UTF8.GetBytes(text)) { MessageId = id };

    [Theory]
    [InlineData(true, new[] { "first", "second" }, 2)]
    [InlineData(false, new[] { "first", "again", "second", "and again" }, 0)]
    public async Task Copies_of_a_message_id_reach_the_handler_once_unless_deduplication_is_off(bool deduplicate,
        string[] expected, long suppressed)
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/events/+") { Deduplicate = deduplicate }, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);

        await publisher.PublishAsync(Copy("a", "first"), default);
        await publisher.PublishAsync(Copy("a", "again"), default);
        await publisher.PublishAsync(Copy("b", "second"), default);
        await publisher.PublishAsync(Copy("a", "and again"), default);

        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(1));
        Assert.Equal(expected, received.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(suppressed, subscription.Duplicates);
    }

    [Fact]
    public async Task At_most_once_subscriptions_are_not_deduplicated()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/events/+") { Delivery = Delivery.AtMostOnce }, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);

        await publisher.PublishAsync(Copy("a", "1") with { Delivery = Delivery.AtMostOnce }, default);
        await publisher.PublishAsync(Copy("a", "2") with { Delivery = Delivery.AtMostOnce }, default);

        Assert.Equal(2, (await Receive.ExactlyAsync(subscription, 2, Timeout)).Count);
    }

    [Fact]
    public void The_window_forgets_the_oldest_ids_beyond_its_count()
    {
        var deduplicator = new Deduplicator(count: 3, age: TimeSpan.FromHours(1), filter: "edge/events/+");
        foreach (var id in new[] { "a", "b", "c", "d" }) Assert.False(deduplicator.Check(Received(id)).Duplicate);

        Assert.True(deduplicator.Check(Received("d")).Duplicate);
        Assert.False(deduplicator.Check(Received("a")).Duplicate);
    }

    [Fact]
    public void The_window_forgets_ids_older_than_its_age()
    {
        var deduplicator = new Deduplicator(count: 100, age: TimeSpan.FromMilliseconds(50), filter: "edge/events/+");
        Assert.False(deduplicator.Check(Received("a")).Duplicate);
        Assert.True(deduplicator.Check(Received("a")).Duplicate);

        Thread.Sleep(120);

        Assert.False(deduplicator.Check(Received("a")).Duplicate);
    }

    [Fact]
    public async Task With_manual_ack_a_copy_is_acknowledged_only_once_the_original_is()
    {
        var deduplicator = new Deduplicator(count: 100, age: TimeSpan.FromHours(1), filter: "edge/questions/#");
        var acks = new List<string>();
        ReceivedMessage WithAck(string connection) => Received("q1") with
        {
            Acknowledge = _ => { acks.Add(connection); return ValueTask.CompletedTask; },
        };

        var (_, original) = deduplicator.Check(WithAck("old connection"));
        var (duplicate, copy) = deduplicator.Check(WithAck("new connection"));
        Assert.True(duplicate);
        await copy.AckAsync();
        Assert.Empty(acks);

        await original.AckAsync();
        Assert.Equal(["new connection", "old connection"], acks);

        var (late, lateCopy) = deduplicator.Check(WithAck("later connection"));
        Assert.True(late);
        await lateCopy.AckAsync();
        Assert.Equal("later connection", acks[^1]);
    }

    private static ReceivedMessage Received(string id) => new("edge/events/cam1", new byte[] { 1 }) { MessageId = id };
}
