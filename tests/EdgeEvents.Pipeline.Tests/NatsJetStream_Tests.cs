using System.Text;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>At-least-once delivery of <see cref="NatsTransport"/> through JetStream, each test against its own nats-server -js.</summary>
public sealed class NatsJetStream_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static OutgoingMessage Message(string topic, int i) =>
        new(topic, Encoding.UTF8.GetBytes(i.ToString())) { Delivery = Delivery.AtLeastOnce, MessageId = $"m{i}", ContentType = "text/plain" };

    private static int Number(ReceivedMessage m) => int.Parse(Encoding.UTF8.GetString(m.Payload.Span));

    [Fact]
    public async Task A_durable_consumer_gets_the_messages_published_while_it_was_down()
    {
        await using var server = await NatsServer.StartNewAsync();
        var request = new SubscriptionRequest("edge/events/+") { Durable = "scene" };
        await using (var first = await server.ConnectAsync())
        {
            await first.SubscribeAsync(request, default);
        }
        await using (var publisher = await server.ConnectAsync())
        {
            for (var i = 0; i < 50; i++) await publisher.PublishAsync(Message($"edge/events/cam{i % 2}", i), default);
        }
        await using var again = await server.ConnectAsync();
        await using var subscription = await again.SubscribeAsync(request, default);

        var received = await Receive.ExactlyAsync(subscription, 50, Timeout);
        Assert.Equal(Enumerable.Range(0, 50), received.Select(Number));
        Assert.All(received, m => Assert.Equal($"m{Number(m)}", m.MessageId));
    }

    [Fact]
    public async Task A_server_restart_mid_stream_loses_no_at_least_once_message()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var subscriber = await server.ConnectAsync();
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Durable = "restart", Capacity = 1000 }, default);
        await using var publisher = await server.ConnectAsync();

        // The restart runs while publishing goes on, so publishes are in flight when the server goes away.
        const int total = 1000;
        var restart = Task.CompletedTask;
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                if (i == total / 5) restart = Task.Run(() => server.RestartAsync());
                await publisher.PublishAsync(Message("edge/events/cam1", i), default);
            }
        });
        await publishing.WaitAsync(TimeSpan.FromSeconds(60));
        await restart;

        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(3));
        Assert.Equal(Enumerable.Range(0, total), received.Select(Number).Distinct().Order());
        Assert.True(publisher.Connects >= 2 && subscriber.Connects >= 2, "both clients reconnected");
    }

    [Fact]
    public async Task A_link_cut_mid_stream_loses_no_at_least_once_message()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var proxy = new TcpProxy(server.Port);
        await using var subscriber = await server.ConnectAsync();
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Durable = "cut", Capacity = 1000 }, default);
        await using var publisher = await server.ConnectAsync(url: proxy.NatsUrl);

        // Whatever sits in the publisher's socket when the link is cut is lost unless it is sent again.
        const int total = 1000;
        var cut = Task.CompletedTask;
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                if (i == total / 5) cut = Task.Run(async () => { proxy.Cut(); await Task.Delay(200); proxy.Restore(); });
                await publisher.PublishAsync(Message("edge/events/cam1", i), default);
            }
        });
        await publishing.WaitAsync(TimeSpan.FromSeconds(60));
        await cut;

        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(2));
        Assert.Equal(Enumerable.Range(0, total), received.Select(Number).Distinct().Order());
        Assert.True(publisher.Connects >= 2, "the publisher reconnected");
    }

    [Fact]
    public async Task An_unacknowledged_message_is_delivered_again_and_an_acknowledged_one_is_not()
    {
        await using var server = await NatsServer.StartNewAsync();
        var nats = new NatsOptions { JetStream = new NatsJetStreamOptions { AckWait = TimeSpan.FromSeconds(1) } };
        var request = new SubscriptionRequest("edge/events/+") { Durable = "careful", ManualAck = true };
        await using var publisher = await server.ConnectAsync(nats: nats);
        await publisher.PublishAsync(Message("edge/events/cam1", 1), default);
        await publisher.PublishAsync(Message("edge/events/cam1", 2), default);

        await using (var crashing = await server.ConnectAsync(nats: nats))
        {
            await using var subscription = await crashing.SubscribeAsync(request, default);
            var got = await Receive.ExactlyAsync(subscription, 2, Timeout);
            await got[0].AckAsync();
        }
        await using var next = await server.ConnectAsync(nats: nats);
        await using var again = await next.SubscribeAsync(request, default);

        var redelivered = await Receive.ExactlyAsync(again, 1, Timeout);
        Assert.Equal(2, Number(redelivered[0]));
        await redelivered[0].AckAsync();
        Assert.Empty(await Receive.UntilQuietAsync(again.Messages, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task A_question_stored_by_the_stream_reaches_a_durable_responder_and_its_reply_the_asker()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var llm = await server.ConnectAsync(component: "llm");
        await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#") { Durable = "llm", ManualAck = true }, default);
        _ = Task.Run(async () =>
        {
            await foreach (var question in questions.Messages.ReadAllAsync())
            {
                await llm.PublishAsync(new OutgoingMessage(question.ResponseTopic!, Encoding.UTF8.GetBytes($"{question.Topic}?")), default);
                await question.AckAsync();
            }
        });
        await using var asker = await server.ConnectAsync();

        var bare = await asker.RequestAsync(new OutgoingMessage("edge/questions", "q"u8.ToArray()), Timeout, default);
        var named = await asker.RequestAsync(new OutgoingMessage("edge/questions/alice", "q"u8.ToArray()), Timeout, default);

        Assert.Equal("edge/questions?", Encoding.UTF8.GetString(bare.Payload.Span));
        Assert.Equal("edge/questions/alice?", Encoding.UTF8.GetString(named.Payload.Span));
    }
}
