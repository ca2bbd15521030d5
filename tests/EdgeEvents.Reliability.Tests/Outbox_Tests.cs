using System.Diagnostics.Metrics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace EdgeEvents.Reliability.Tests;

public sealed class Outbox_Tests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-outbox-");

    private TransportOptions Options(string brokerUrl, OutboxOptions? outbox = null) =>
        TestTransports.Options(brokerUrl, persistent: true) with
        {
            Outbox = (outbox ?? new OutboxOptions()) with { Path = Path.Combine(_folder.FullName, "{component}.db") },
        };

    private static OutboxTransport Outbox(IMessageTransport transport) => transport.Outbox();

    [Fact]
    public async Task Publishes_accepted_while_the_broker_is_unreachable_are_delivered_in_order_once_it_is_back()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var check = new StreamCheck(subscription);
        await using var publisher = await TestTransports.ConnectAsync(Options(proxy.MqttUrl), component: "cam1");

        proxy.Cut();
        await WaitAsync(() => !publisher.IsConnected);
        for (var i = 0; i < 500; i++) await publisher.PublishAsync(Streams.Event("cam1", i), default);
        Assert.Equal(500, Outbox(publisher).Pending);
        proxy.Restore();

        await check.WaitUntilAsync(c => c.Count >= 500, Timeout);
        output.WriteLine(check.AssertExactlyOnceInOrder(new Dictionary<string, int> { ["cam1"] = 500 }));
        await WaitAsync(() => Outbox(publisher).Pending == 0);
        Assert.Equal(0, Outbox(publisher).PendingBytes);
    }

    [Fact]
    public async Task The_edge_outbox_size_gauge_reports_the_messages_waiting_and_falls_to_zero_once_sent()
    {
        const string component = "outbox-gauge";
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var publisher = await TestTransports.ConnectAsync(Options(proxy.MqttUrl), component: component);

        proxy.Cut();
        await WaitAsync(() => !publisher.IsConnected);
        for (var i = 0; i < 20; i++) await publisher.PublishAsync(Streams.Event("cam1", i), default);
        Assert.Equal(20, OutboxSizeGauge(component));
        proxy.Restore();
        await WaitAsync(() => OutboxSizeGauge(component) == 0);
    }

    /// <summary>What <c>edge.outbox.size</c> reports for one component now (-1: no series).</summary>
    private static long OutboxSizeGauge(string component)
    {
        long value = -1;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EdgeTelemetry.Name && instrument.Name == EdgeTelemetry.OutboxSize.Name)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == EdgeTelemetry.Tags.Component && (string?)tag.Value == component) value = measurement;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    [Fact]
    public async Task A_full_outbox_drops_the_oldest_counts_them_and_reports_outbox_overflow_once_the_link_is_back()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var events = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var errors = await subscriber.SubscribeAsync(new SubscriptionRequest("edge/errors/+"), default);
        await using var check = new StreamCheck(events);
        await using var publisher = await TestTransports.ConnectAsync(
            Options(proxy.MqttUrl, new OutboxOptions { MaxMessages = 100 }), component: "cam1");

        proxy.Cut();
        await WaitAsync(() => !publisher.IsConnected);
        for (var i = 0; i < 150; i++) await publisher.PublishAsync(Streams.Event("cam1", i), default);
        Assert.Equal((100, 50), (Outbox(publisher).Pending, Outbox(publisher).Dropped));
        proxy.Restore();

        await check.WaitUntilAsync(c => c.Count >= 100, Timeout);
        Assert.Equal(Enumerable.Range(50, 100), check.Of("cam1"));
        var report = MessageCodec.Deserialize<ErrorEvent>((await Receive.ExactlyAsync(errors, 1, Timeout))[0].Payload);
        Assert.Equal((ErrorKinds.OutboxOverflow, "cam1"), (report.Kind, report.Component));
        Assert.Contains("50 oldest messages were dropped", report.Message);
        output.WriteLine($"sent 150, outbox limit 100, dropped {Outbox(publisher).Dropped} " +
            $"(reported: {report.Message}), received {check.Count}");
    }

    [Fact]
    public async Task At_most_once_messages_bypass_the_outbox()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var publisher = await TestTransports.ConnectAsync(Options(broker.Url), component: "cam1");
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var frames = await subscriber.SubscribeAsync(
            new SubscriptionRequest("edge/frames/+") { Delivery = Delivery.AtMostOnce }, default);

        await publisher.PublishAsync(new OutgoingMessage("edge/frames/cam1", new byte[] { 0xFF, 0xD8, 0xFF })
        {
            Delivery = Delivery.AtMostOnce,
        }, default);

        await Receive.ExactlyAsync(frames, 1, Timeout);
        Assert.Equal(0, Outbox(publisher).Sent);
    }

    [Fact]
    public async Task A_message_without_an_id_gets_one_and_an_expired_one_is_not_sent()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var proxy = new TcpProxy(broker.Port);
        await using var subscriber = await TestTransports.ConnectAsync(broker.Url);
        await using var subscription =
            await subscriber.SubscribeAsync(new SubscriptionRequest("edge/events/+"), default);
        await using var publisher = await TestTransports.ConnectAsync(Options(proxy.MqttUrl), component: "cam1");

        proxy.Cut();
        await WaitAsync(() => !publisher.IsConnected);
        await publisher.PublishAsync(new OutgoingMessage("edge/events/cam1", "stale"u8.ToArray())
        {
            Expiry = TimeSpan.FromMilliseconds(200),
        }, default);
        await publisher.PublishAsync(new OutgoingMessage("edge/events/cam1", "fresh"u8.ToArray()), default);
        await Task.Delay(500);
        proxy.Restore();

        var received = Assert.Single(await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(3)));
        Assert.Equal("fresh", System.Text.Encoding.UTF8.GetString(received.Payload.Span));
        Assert.Equal(32, received.MessageId?.Length);
        Assert.Equal(1, Outbox(publisher).Expired);
    }

    [Fact]
    public async Task A_second_transport_cannot_open_an_outbox_in_use()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var first = await TestTransports.ConnectAsync(Options(broker.Url), component: "scene");

        var refused = await Assert.ThrowsAsync<IOException>(() =>
            TestTransports.ConnectAsync(Options(broker.Url), component: "scene"));
        Assert.Contains("in use by another process", refused.Message);
    }

    [Fact]
    public async Task Setting_Transport_Outbox_Path_in_configuration_gives_each_component_its_own_outbox()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Broker"] = "mqtt://127.0.0.1:1",
            ["Transport:Outbox:Path"] = Path.Combine(_folder.FullName, "{component}.outbox.db"),
            ["Transport:Outbox:MaxMessages"] = "5000",
        }).Build();
        var loggers = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

        await using var scene = TransportFactory.Create(
            EdgeServiceCollectionExtensions.BindTransportOptions(configuration, "scene"), "scene", loggers);
        await using var llm = TransportFactory.Create(
            EdgeServiceCollectionExtensions.BindTransportOptions(configuration, "llm"), "llm", loggers);
        await scene.PublishAsync(Streams.Event("cam1", 0), default);

        Assert.Equal((1, 0), (Outbox(scene).Pending, Outbox(llm).Pending));
        Assert.True(File.Exists(Path.Combine(_folder.FullName, "scene.outbox.db")));
        Assert.True(File.Exists(Path.Combine(_folder.FullName, "llm.outbox.db")));
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not met in time.");
            await Task.Delay(20);
        }
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
