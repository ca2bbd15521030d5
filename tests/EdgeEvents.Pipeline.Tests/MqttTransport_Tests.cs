using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Mqtt;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Packets;
using Xunit.Abstractions;

namespace EdgeEvents.Pipeline.Tests;

public sealed class MqttTransport_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static OutgoingMessage Message(string topic, int i, Delivery delivery = Delivery.AtLeastOnce) =>
        new(topic, Encoding.UTF8.GetBytes(i.ToString())) { Delivery = delivery, MessageId = $"m{i}", ContentType = "text/plain" };

    private static int Number(ReceivedMessage m) => int.Parse(Encoding.UTF8.GetString(m.Payload.Span));

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Published_message_arrives_with_its_properties(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/detections/+"), default);

        await publisher.PublishAsync(new OutgoingMessage("edge/detections/cam1", "{}"u8.ToArray())
        {
            ContentType = "application/json", MessageId = "abc", ResponseTopic = "edge/answers/x", CorrelationData = new byte[] { 1, 2 },
            Headers = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        }, default);

        var received = (await Receive.ExactlyAsync(subscription, 1, Timeout))[0];
        Assert.Equal("edge/detections/cam1", received.Topic);
        Assert.Equal("{}", Encoding.UTF8.GetString(received.Payload.Span));
        Assert.Equal("application/json", received.ContentType);
        Assert.Equal("abc", received.MessageId);
        Assert.Equal("edge/answers/x", received.ResponseTopic);
        Assert.Equal(new byte[] { 1, 2 }, received.CorrelationData.ToArray());
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", received.Headers["traceparent"]);
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Messages_published_while_a_persistent_subscriber_is_away_are_delivered_when_it_returns(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        var clientId = $"persistent-{kind}";
        await using (var first = await TestTransports.ConnectAsync(broker.Url, clientId, persistent: true))
        {
            await first.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);
        }
        await using (var publisher = await TestTransports.ConnectAsync(broker.Url))
        {
            for (var i = 0; i < 50; i++) await publisher.PublishAsync(Message("edge/events/cam1", i), default);
        }
        await using var again = await TestTransports.ConnectAsync(TestTransports.Options(broker.Url, clientId, persistent: true));
        await using var subscription = await again.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);

        var received = await Receive.ExactlyAsync(subscription, 50, Timeout);
        Assert.Equal(Enumerable.Range(0, 50), received.Select(Number));
    }

    [Fact]
    public async Task A_mosquitto_restart_mid_stream_loses_no_at_least_once_message()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Mosquitto);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url, "restart-sub", persistent: true);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url, "restart-pub", persistent: true);

        const int total = 300;
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                await publisher.PublishAsync(Message("edge/events/cam1", i), default);
                if (i == total / 2) await broker.RestartAsync();
            }
        });
        await publishing.WaitAsync(TimeSpan.FromSeconds(60));

        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(3));
        var distinct = received.Select(Number).Distinct().Order().ToList();
        Assert.Equal(Enumerable.Range(0, total), distinct);
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task Two_shared_subscribers_split_a_stream_without_seeing_a_message_twice(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var a = await TestTransports.ConnectAsync(broker.Url);
        await using var b = await TestTransports.ConnectAsync(broker.Url);
        var request = new SubscriptionRequest("edge/frames/+") { Group = "detectors", Capacity = 1000 };
        await using var subA = await a.SubscribeAsync(request, default);
        await using var subB = await b.SubscribeAsync(request, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);

        const int total = 200;
        for (var i = 0; i < total; i++) await publisher.PublishAsync(Message($"edge/frames/cam{i % 4}", i), default);

        var gotA = await Receive.UntilQuietAsync(subA.Messages, TimeSpan.FromSeconds(2));
        var gotB = await Receive.UntilQuietAsync(subB.Messages, TimeSpan.FromSeconds(1));
        var all = gotA.Concat(gotB).Select(Number).ToList();
        Assert.Equal(total, all.Count);
        Assert.Equal(Enumerable.Range(0, total), all.Order());
        Assert.NotEmpty(gotA);
        Assert.NotEmpty(gotB);
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task The_last_will_flips_status_to_offline_when_a_client_dies(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var proxy = new TcpProxy(broker.Port);
        await using var watcher = await TestTransports.ConnectAsync(broker.Url);
        await using var status = await watcher.SubscribeAsync(new SubscriptionRequest("edge/status/doomed"), default);

        await using var worker = await TestTransports.ConnectAsync(TestTransports.Options(proxy.MqttUrl, "doomed") with { ReconnectMinDelay = TimeSpan.FromSeconds(30), ReconnectMaxDelay = TimeSpan.FromSeconds(30) }, component: "doomed");
        var online = (await Receive.ExactlyAsync(status, 1, Timeout))[0];
        Assert.Equal(("edge/status/doomed", StatusPayloads.Online), (online.Topic, Encoding.UTF8.GetString(online.Payload.Span)));

        proxy.Cut();

        var offline = (await Receive.ExactlyAsync(status, 1, Timeout))[0];
        Assert.Equal(("edge/status/doomed", StatusPayloads.Offline), (offline.Topic, Encoding.UTF8.GetString(offline.Payload.Span)));
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task An_oversize_payload_is_rejected_and_counted_while_the_subscription_keeps_working(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var subscriber = await TestTransports.ConnectAsync(TestTransports.Options(broker.Url) with { MaxPayloadBytes = 1024 });
        var rejected = new List<RejectedMessage>();
        subscriber.Rejected += r => { lock (rejected) rejected.Add(r); };
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/frames/+"), default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);

        await publisher.PublishAsync(new OutgoingMessage("edge/frames/cam1", new byte[4096]), default);
        await publisher.PublishAsync(Message("edge/frames/cam1", 7), default);

        var received = (await Receive.ExactlyAsync(subscription, 1, Timeout))[0];
        Assert.Equal(7, Number(received));
        var rejection = Assert.Single(rejected);
        Assert.Equal((ErrorKinds.PayloadTooLarge, 4096, "edge/frames/cam1"), (rejection.Kind, rejection.PayloadBytes, rejection.Topic));
    }

    [Fact]
    public async Task A_full_drop_oldest_subscription_keeps_the_newest_and_counts_the_rest()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/frames/+") { Delivery = Delivery.AtMostOnce, Capacity = 5, Overload = OverloadPolicy.DropOldest }, default);
        await using var publisher = await TestTransports.ConnectAsync(broker.Url);

        for (var i = 0; i < 100; i++) await publisher.PublishAsync(Message("edge/frames/cam1", i), default);
        await publisher.PublishAsync(Message("edge/frames/cam1", 100), default);
        // Wait until the last one is in the channel, then read what is left.
        var deadline = DateTime.UtcNow + Timeout;
        while (subscription.Dropped < 96 && DateTime.UtcNow < deadline) await Task.Delay(20);

        var kept = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromMilliseconds(300));
        Assert.Equal(Enumerable.Range(96, 5), kept.Select(Number));
        Assert.Equal(96, subscription.Dropped);
    }

    [Fact]
    public async Task Subscriptions_are_restored_after_the_link_drops()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(proxy.MqttUrl);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);
        var reconnected = new TaskCompletionSource();
        subscriber.ConnectionChanged += up => { if (up) reconnected.TrySetResult(); };

        proxy.Cut();
        await Task.Delay(200);
        proxy.Restore();
        await reconnected.Task.WaitAsync(Timeout);

        await using var publisher = await TestTransports.ConnectAsync(broker.Url);
        await publisher.PublishAsync(Message("edge/events/cam1", 1), default);
        Assert.Equal(1, Number((await Receive.ExactlyAsync(subscription, 1, Timeout))[0]));
    }

    [Fact]
    public async Task At_most_once_publishes_never_throw_when_the_link_dies_under_them_and_are_counted_as_dropped()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var camera = await TestTransports.ConnectAsync(TestTransports.Options(proxy.MqttUrl) with { ReconnectMinDelay = TimeSpan.FromMilliseconds(100), ReconnectMaxDelay = TimeSpan.FromMilliseconds(200) });
        var mqtt = TransportDecorator.Find<MqttTransport>(camera)!;
        var reconnected = new TaskCompletionSource();
        var frame = new byte[100_000];

        // Frames back to back, so the cuts land while publishes are in flight.
        using var stop = new CancellationTokenSource();
        var published = 0;
        var publishing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await camera.PublishAsync(new OutgoingMessage("edge/frames/cam1", frame) { Delivery = Delivery.AtMostOnce }, default);
                published++;
            }
        });
        for (var cut = 0; cut < 5; cut++)
        {
            await Task.Delay(100);
            proxy.Cut();
            await Task.Delay(50);
            proxy.Restore();
        }
        camera.ConnectionChanged += up => { if (up) reconnected.TrySetResult(); };
        if (!mqtt.IsConnected) await reconnected.Task.WaitAsync(Timeout);
        await Task.Delay(100);
        await stop.CancelAsync();
        await publishing.WaitAsync(Timeout);

        Assert.True(published > 0);
        Assert.True(mqtt.DroppedWhileDisconnected > 0, "frames published while the link was down are counted as dropped");
    }

    [Fact]
    public async Task Request_gets_the_reply_with_matching_correlation_data()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var responder = await TestTransports.ConnectAsync(broker.Url);
        await using var requests = await responder.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);
        _ = Task.Run(async () =>
        {
            var request = await requests.Messages.ReadAsync();
            await responder.PublishAsync(new OutgoingMessage(request.ResponseTopic!, "answer"u8.ToArray()) { CorrelationData = request.CorrelationData }, default);
        });
        await using var requester = await TestTransports.ConnectAsync(broker.Url);

        var reply = await requester.RequestAsync(new OutgoingMessage("edge/questions/alice", "q"u8.ToArray()) { ResponseTopic = "edge/answers/alice" }, Timeout, default);

        Assert.Equal("answer", Encoding.UTF8.GetString(reply.Payload.Span));
    }

    [Theory]
    [InlineData(MqttTestBroker.Embedded)]
    [InlineData(MqttTestBroker.Mosquitto)]
    public async Task A_frame_publish_cancelled_mid_write_corrupts_no_frame(string kind)
    {
        await using var broker = await MqttTestBroker.StartAsync(kind);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/frames/+") { Delivery = Delivery.AtMostOnce }, default);
        // The cameras share one connection, as the load bench's do, through a proxy that can hold their bytes.
        await using var proxy = new TcpProxy(broker.Port);
        await using var cameras = await TestTransports.ConnectAsync(proxy.MqttUrl, component: "cameras");
        var published = new ConcurrentDictionary<string, byte[]>();
        var random = new Random(7);
        async Task<string> PublishFrameAsync(int camera, CancellationToken ct)
        {
            var frame = new Frame { Camera = $"cam{camera}", Encoding = FrameEncoding.Jpeg, Width = 640, Height = 480, Data = RandomBytes(random, 100_000, 400_000) };
            var payload = MessageCodec.Serialize(frame, PayloadFormat.MessagePack);
            published[frame.Id] = payload;
            await cameras.PublishAsync(new OutgoingMessage($"edge/frames/cam{camera}", payload)
            {
                ContentType = ContentTypes.MessagePack, Delivery = Delivery.AtMostOnce, MessageId = frame.Id,
            }, ct);
            return frame.Id;
        }

        // Eight frames (~2 MB) against a stalled link that holds a few hundred KB: when the cameras stop, one frame is
        // part-way onto the wire and the others wait their turn.
        proxy.Stall();
        var cancelled = 0;
        using (var stop = new CancellationTokenSource())
        {
            var stalled = Enumerable.Range(1, 8).Select(c => PublishFrameAsync(c, stop.Token)).ToList();
            await Task.Delay(300);
            await stop.CancelAsync();
            foreach (var publish in stalled)
            {
                try { await publish; }
                catch (OperationCanceledException) { cancelled++; }
            }
        }
        proxy.Resume();
        var after = new List<string>();
        for (var camera = 1; camera <= 8; camera++) after.Add(await PublishFrameAsync(camera, default));

        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(2));
        Assert.True(cancelled > 0, "No publish was still under way when the cameras stopped: the test proved nothing.");
        var corrupt = received.Where(m => !published.TryGetValue(m.MessageId ?? "", out var sent) || !m.Payload.Span.SequenceEqual(sent)).Select(Describe).ToList();
        Assert.True(corrupt.Count == 0, $"{corrupt.Count} of {received.Count} frames arrived corrupted: {string.Join("; ", corrupt)}");
        Assert.Empty(after.Except(received.Select(m => m.MessageId!)));
    }

    [Fact]
    public async Task A_publish_whose_acknowledgement_the_broker_loses_is_sent_again_on_a_new_connection()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        var options = TestTransports.Options(broker.Url) with { AckTimeout = TimeSpan.FromSeconds(1) };
        var lostAcks = LoseNextAcknowledgement(broker, options.ClientId!);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        var events = new SubscriptionRequest("edge/events/+");
        await using var subscription = await subscriber.SubscribeAsync(events, default);
        await using var publisher = await TestTransports.ConnectAsync(options);
        var drops = 0;
        publisher.ConnectionChanged += up => { if (!up) Interlocked.Increment(ref drops); };

        lostAcks.Arm();
        var started = Stopwatch.GetTimestamp();
        var publish = publisher.PublishAsync(Message("edge/events/cam1", 1), default).AsTask();
        var first = await Task.WhenAny(publish, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(first == publish, "The publish still waits, 20 s on, for the acknowledgement never sent.");
        await publish;
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(1, lostAcks.Lost);
        Assert.True(drops >= 1, "The publish ended without the connection being dropped and renewed.");
        var received = await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(1));
        Assert.Equal([1], received.Select(Number));
        output.WriteLine($"acknowledged {elapsed.TotalMilliseconds:F0} ms after the publish (AckTimeout 1 s)");
    }

    [Fact]
    public async Task A_connection_whose_online_status_is_not_acknowledged_is_made_again()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        var options = TestTransports.Options(broker.Url) with { AckTimeout = TimeSpan.FromSeconds(1) };
        var lostAcks = LoseNextAcknowledgement(broker, options.ClientId!);
        lostAcks.Arm();

        // The connection loop publishes "online" and waits for its acknowledgement before it calls the link up.
        await using var publisher = await TestTransports.ConnectAsync(options);

        Assert.Equal(1, lostAcks.Lost);
        await publisher.PublishAsync(Message("edge/events/cam1", 1), default);
    }

    /// <summary>
    /// The broker sends no PUBACK for the client's next QoS 1 publish once armed. The link stays up and keepalive
    /// pings are answered: only a bound on the wait for the acknowledgement ends that publish.
    /// </summary>
    private static LostAcknowledgements LoseNextAcknowledgement(EmbeddedBroker broker, string clientId)
    {
        var lost = new LostAcknowledgements();
        broker.Server.InterceptingOutboundPacketAsync += e =>
        {
            if (e.Packet is MqttPubAckPacket && e.ClientId == clientId && lost.TakeArmed()) e.ProcessPacket = false;
            return Task.CompletedTask;
        };
        return lost;
    }

    private sealed class LostAcknowledgements
    {
        private int _armed;
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);
        public void Arm() => Volatile.Write(ref _armed, 1);

        public bool TakeArmed()
        {
            if (Interlocked.Exchange(ref _armed, 0) == 0) return false;
            Interlocked.Increment(ref _lost);
            return true;
        }
    }

    private static byte[] RandomBytes(Random random, int min, int max)
    {
        var bytes = new byte[random.Next(min, max)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Describe(ReceivedMessage frame)
    {
        try
        {
            MessageCodec.Deserialize<Frame>(frame.Payload, frame.ContentType);
            return $"{frame.MessageId} ({frame.Payload.Length} bytes, decodes with other bytes)";
        }
        catch (MessageFormatException ex)
        {
            return $"{frame.MessageId} ({frame.Payload.Length} bytes): {ex.Message}";
        }
    }
}
