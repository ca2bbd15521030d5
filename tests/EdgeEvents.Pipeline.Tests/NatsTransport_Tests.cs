using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Pipeline.Tests;

/// <summary>Core NATS behaviour of <see cref="NatsTransport"/>, each test against its own nats-server.</summary>
public sealed class NatsTransport_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static OutgoingMessage Message(string topic, int i, Delivery delivery = Delivery.AtLeastOnce) =>
        new(topic, Encoding.UTF8.GetBytes(i.ToString())) { Delivery = delivery, MessageId = $"m{i}", ContentType = "text/plain" };

    private static int Number(ReceivedMessage m) => int.Parse(Encoding.UTF8.GetString(m.Payload.Span));

    private static string Text(ReceivedMessage m) => Encoding.UTF8.GetString(m.Payload.Span);

    [Fact]
    public async Task The_factory_picks_NATS_for_a_nats_url_and_a_message_arrives_with_its_properties()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var subscriber = await TestTransports.ConnectAsync(server.Url);
        await using var publisher = await TestTransports.ConnectAsync(server.Url);
        Assert.IsType<NatsTransport>(Assert.IsType<TracingTransport>(subscriber).Inner);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/detections/+"), default);

        await publisher.PublishAsync(new OutgoingMessage("edge/detections/cam1", "{}"u8.ToArray())
        {
            ContentType = "application/json", MessageId = "abc", ResponseTopic = "edge/answers/x", CorrelationData = new byte[] { 1, 2 },
            Expiry = TimeSpan.FromMinutes(1),
            Headers = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        }, default);

        var received = (await Receive.ExactlyAsync(subscription, 1, Timeout))[0];
        Assert.Equal("edge/detections/cam1", received.Topic);
        Assert.Equal("{}", Text(received));
        Assert.Equal("application/json", received.ContentType);
        Assert.Equal("abc", received.MessageId);
        Assert.Equal("edge/answers/x", received.ResponseTopic);
        Assert.Equal(new byte[] { 1, 2 }, received.CorrelationData.ToArray());
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Assert.Single(received.Headers).Value);
        Assert.False(received.Retained);
    }

    [Fact]
    public async Task An_expired_message_is_dropped_by_the_receiver_and_counted()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var subscriber = await server.ConnectAsync();
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/detections/+"), default);
        await using var publisher = await server.ConnectAsync();

        await publisher.PublishAsync(Message("edge/detections/cam1", 1) with { Expiry = TimeSpan.FromTicks(1) }, default);
        await publisher.PublishAsync(Message("edge/detections/cam1", 2) with { Expiry = TimeSpan.FromMinutes(1) }, default);

        Assert.Equal(2, Number((await Receive.ExactlyAsync(subscription, 1, Timeout))[0]));
        Assert.Equal(1, subscriber.Expired);
    }

    [Fact]
    public async Task Two_queue_group_members_split_a_stream_without_seeing_a_message_twice()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var a = await server.ConnectAsync();
        await using var b = await server.ConnectAsync();
        var request = new SubscriptionRequest("edge/frames/+") { Group = "detectors", Capacity = 1000 };
        await using var subA = await a.SubscribeAsync(request, default);
        await using var subB = await b.SubscribeAsync(request, default);
        await using var publisher = await server.ConnectAsync();

        const int total = 200;
        for (var i = 0; i < total; i++) await publisher.PublishAsync(Message($"edge/frames/cam{i % 4}", i), default);

        var gotA = await Receive.UntilQuietAsync(subA.Messages, TimeSpan.FromSeconds(1));
        var gotB = await Receive.UntilQuietAsync(subB.Messages, TimeSpan.FromMilliseconds(500));
        var all = gotA.Concat(gotB).Select(Number).ToList();
        Assert.Equal(Enumerable.Range(0, total), all.Order());
        Assert.NotEmpty(gotA);
        Assert.NotEmpty(gotB);
    }

    [Fact]
    public async Task An_oversize_payload_is_rejected_with_a_counted_error_while_the_subscription_keeps_working()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var component = await TestTransports.ComponentAsync(TestTransports.Options(server.Url) with { MaxPayloadBytes = 1024 }, "guard");
        await using var subscription = await component.Transport.SubscribeAsync(new SubscriptionRequest("edge/frames/+"), default);
        await using var watcher = await server.ConnectAsync();
        await using var errors = await watcher.SubscribeAsync(new SubscriptionRequest("edge/errors/guard"), default);
        await using var publisher = await server.ConnectAsync();

        await publisher.PublishAsync(new OutgoingMessage("edge/frames/cam1", new byte[4096]), default);
        await publisher.PublishAsync(Message("edge/frames/cam1", 7), default);

        Assert.Equal(7, Number((await Receive.ExactlyAsync(subscription, 1, Timeout))[0]));
        Assert.Equal(1, component.Errors.Count);
        var error = MessageCodec.Deserialize<ErrorEvent>((await Receive.ExactlyAsync(errors, 1, Timeout))[0].Payload, ContentTypes.Json);
        Assert.Equal((ErrorKinds.PayloadTooLarge, 4096, "edge/frames/cam1"), (error.Kind, error.PayloadBytes, error.Topic));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_request_on_the_bare_questions_topic_gets_the_reply(bool jetStream)
    {
        // With JetStream the question is stored by the EDGE stream and its reply inbox travels as a header;
        // without, it is the NATS reply subject.
        await using var server = await NatsServer.StartNewAsync(jetStream);
        await using var responder = await server.ConnectAsync();
        Assert.Equal(jetStream, responder.JetStreamActive);
        await using var questions = await responder.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);
        var answering = Task.Run(async () =>
        {
            var question = await questions.Messages.ReadAsync();
            await responder.PublishAsync(new OutgoingMessage(question.ResponseTopic!, Encoding.UTF8.GetBytes($"answer to {Text(question)}")), default);
            return question;
        });
        await using var requester = await server.ConnectAsync();

        var reply = await requester.RequestAsync(new OutgoingMessage("edge/questions", "q"u8.ToArray()), Timeout, default);

        Assert.Equal("answer to q", Text(reply));
        var asked = await answering;
        Assert.Equal("edge/questions", asked.Topic);
        Assert.StartsWith("_INBOX.", asked.ResponseTopic);
    }

    [Fact]
    public async Task Retained_scene_state_and_online_status_reach_a_subscriber_that_joins_later_and_offline_follows_dispose()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var scene = await server.ConnectAsync(component: "scene");
        await scene.PublishAsync(new OutgoingMessage("edge/scene/cam1", "v1"u8.ToArray()) { Retain = true }, default);
        await scene.PublishAsync(new OutgoingMessage("edge/scene/cam1", "v2"u8.ToArray()) { Retain = true }, default);

        await using var late = await server.ConnectAsync(component: "watch");
        await using var states = await late.SubscribeAsync(new SubscriptionRequest("edge/scene/+"), default);
        await using var status = await late.SubscribeAsync(new SubscriptionRequest("edge/status/scene"), default);

        var state = Assert.Single(await Receive.UntilQuietAsync(states.Messages, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(("edge/scene/cam1", "v2", true), (state.Topic, Text(state), state.Retained));
        var online = (await Receive.ExactlyAsync(status, 1, Timeout))[0];
        Assert.Equal((StatusPayloads.Online, true), (Text(online), online.Retained));

        await scene.DisposeAsync();

        var offline = (await Receive.ExactlyAsync(status, 1, Timeout))[0];
        Assert.Equal((StatusPayloads.Offline, false), (Text(offline), offline.Retained));
    }

    [Fact]
    public async Task A_subscriber_joining_while_retained_state_changes_gets_the_stored_state_first_then_every_newer_one_in_order()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var scene = await server.ConnectAsync(component: "scene");
        using var stop = new CancellationTokenSource();
        var published = 0;
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; !stop.IsCancellationRequested; i++)
            {
                await scene.PublishAsync(new OutgoingMessage("edge/scene/cam1", Encoding.UTF8.GetBytes(i.ToString())) { Retain = true }, default);
                Volatile.Write(ref published, i);
            }
        });
        while (Volatile.Read(ref published) < 20) await Task.Delay(5);

        // Live states keep arriving while the subscription replays the stored one: they must wait behind it.
        await using var late = await server.ConnectAsync(component: "watch");
        await using var states = await late.SubscribeAsync(new SubscriptionRequest("edge/scene/+") { Capacity = 100_000 }, default);
        var joinedAt = Volatile.Read(ref published);
        while (Volatile.Read(ref published) < joinedAt + 20) await Task.Delay(5);
        await stop.CancelAsync();
        await publishing;

        var received = (await Receive.UntilQuietAsync(states.Messages, TimeSpan.FromMilliseconds(500))).Select(Number).ToList();
        Assert.True(received[0] >= 20, $"first delivered state {received[0]} is older than the stored one");
        Assert.Equal(Enumerable.Range(received[0], Volatile.Read(ref published) - received[0] + 1), received);
    }

    [Fact]
    public async Task A_retained_message_published_while_a_subscription_replays_arrives_live_as_on_mqtt()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var publisher = await server.ConnectAsync(component: "scene");
        await using var watcher = await server.ConnectAsync(component: "watch");

        // The replay may find the new message in the stream while its live copy waits behind the replay: it is still live.
        for (var round = 0; round < 10; round++)
        {
            await using var states = await watcher.SubscribeAsync(new SubscriptionRequest($"edge/scene/round{round}") { Deduplicate = false }, default);
            await publisher.PublishAsync(new OutgoingMessage($"edge/scene/round{round}", "1"u8.ToArray()) { Retain = true }, default);

            var received = Assert.Single(await Receive.UntilQuietAsync(states.Messages, TimeSpan.FromMilliseconds(300)));
            Assert.False(received.Retained, $"round {round}: a message published after subscribing arrived flagged retained");
        }
    }

    [Fact]
    public async Task Subscriptions_survive_a_cut_link_and_at_most_once_messages_are_dropped_and_counted_meanwhile()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var proxy = new TcpProxy(server.Port);
        await using var client = await server.ConnectAsync(url: proxy.NatsUrl);
        await using var subscription = await client.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);
        var down = new TaskCompletionSource();
        var up = new TaskCompletionSource();
        client.ConnectionChanged += connected => (connected ? up : down).TrySetResult();

        proxy.Cut();
        await down.Task.WaitAsync(Timeout);
        await client.PublishAsync(Message("edge/frames/cam1", 0, Delivery.AtMostOnce), default);
        proxy.Restore();
        await up.Task.WaitAsync(Timeout);

        await using var publisher = await server.ConnectAsync();
        await publisher.PublishAsync(Message("edge/events/cam1", 1), default);
        Assert.Equal(1, Number((await Receive.ExactlyAsync(subscription, 1, Timeout))[0]));
        Assert.Equal(1, client.DroppedWhileDisconnected);
    }

    [Fact]
    public async Task Credentials_from_the_options_let_a_client_in_and_their_absence_keeps_it_out()
    {
        var passwordFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(passwordFile, "s3cret\n");
        try
        {
            await using var server = await NatsServer.StartNewAsync(extraArguments: "--user edge --pass s3cret");
            await using var allowed = await TestTransports.ConnectAsync(TestTransports.Options(server.Url) with { Username = "edge", PasswordFile = passwordFile });
            Assert.True(allowed.IsConnected);

            await using var refused = TransportFactory.Create(TestTransports.Options(server.Url), "test", NullLoggerFactory.Instance);
            using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => refused.ConnectAsync(attempt.Token));
            Assert.False(refused.IsConnected);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    [Fact]
    public async Task A_flood_on_a_stalled_core_subscription_is_delivered_or_counted_as_dropped_never_lost_silently()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var subscriber = await server.ConnectAsync();
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/frames/+") { Capacity = 5, Overload = OverloadPolicy.Wait }, default);
        await using var publisher = await server.ConnectAsync();

        const int total = 20_000; // more than the channel plus the pending writes allowed behind it (the client queue size, 16,384)
        for (var i = 0; i < total; i++) await publisher.PublishAsync(Message("edge/frames/cam1", i, Delivery.AtMostOnce), default);
        // At-least-once on a core subject ends with a ping: the publisher's pong means the server has routed the flood,
        // the subscriber's pong comes after the flood has passed its client.
        await publisher.PublishAsync(Message("edge/flush/publisher", 0), default);
        await subscriber.PublishAsync(Message("edge/flush/subscriber", 0), default);

        // Nobody read while the flood came in; now drain until every message is accounted for.
        var received = new List<int>();
        var deadline = DateTime.UtcNow + Timeout;
        while (received.Count + subscription.Dropped < total && DateTime.UtcNow < deadline)
            received.AddRange((await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromMilliseconds(200))).Select(Number));
        Assert.Equal(total, received.Count + subscription.Dropped);
        Assert.True(subscription.Dropped > 0, "the flood overflowed the pending writes");
        Assert.Equal(received.Order(), received);
    }
}
