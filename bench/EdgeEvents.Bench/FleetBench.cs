using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Bench;

/// <summary>
/// The built-in bridge (<c>edge-events bridge</c>) from an embedded-broker site to a mosquitto hub, through a
/// <see cref="TcpProxy"/> standing for the WAN:
/// (1) catch-up after a cut: the site publishes scene events at a steady rate while the WAN is cut; the time from the
/// WAN's return until the hub has every one, against the same backlog published straight to the hub over the same
/// proxy (sequential QoS 1 publish + ack: the bare baseline), per rate;
/// (2) WAN bytes per camera-hour with default settings: one camera (2 fps, the sample photos), the detector and the
/// scene worker run at the site; the proxy counts the bytes both ways, against the payload bytes the site's broker
/// carried for the same time.
/// </summary>
public static class FleetBench
{
    private const string Site = "bench";
    private static readonly FleetTopics Fleet = new();

    public static Command Command()
    {
        var quick = BenchOptions.Quick("A 5 s cut at two small rates and 20 s of camera traffic");
        var command = new Command("fleet", "Catch-up after a WAN cut against the backlog, and WAN bytes per " +
            "camera-hour, through the built-in bridge.") { quick };
        command.SetAction(parse => RunAsync(parse.GetValue(quick)));
        return command;
    }

    /// <param name="quick">A 5 s cut at two small rates and 20 s of camera traffic (CI); else a 60 s cut at 10, 100
    /// and 500 events/s and 120 s of camera traffic.</param>
    public static async Task<int> RunAsync(bool quick)
    {
        var cut = TimeSpan.FromSeconds(quick ? 5 : 60);
        int[] rates = quick ? [20, 200] : [10, 100, 500];
        var window = TimeSpan.FromSeconds(quick ? 20 : 120);
        var folder = Directory.CreateTempSubdirectory("edge-fleet-bench-");
        try
        {
            Console.WriteLine($"fleet bench: bridge from an embedded-broker site to mosquitto through a TCP proxy, " +
                $"{Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
            await using var site = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
            await using var hub = await MosquittoBroker.StartNewAsync();
            await using var wan = new TcpProxy(hub.Port);
            await using var bridge = StartBridge(site.Url, wan.MqttUrl, Path.Combine(folder.FullName, "bridge.outbox.db"));
            await using var consumer = await TestTransports.ConnectAsync(TestTransports.Options(hub.Url, "bench-hub", persistent: true));
            await using var atHub = await consumer.SubscribeAsync(new SubscriptionRequest($"{FleetTopics.SiteRoot(Site)}/#")
            {
                Capacity = 100_000,
            }, default);
            var hubLog = new HubLog(atHub);
            await WaitAsync(() => hubLog.Topics.ContainsKey(Fleet.ForSite(Site).Status("bridge")), "the bridge's status at the hub");

            Console.WriteLine();
            Console.WriteLine($"| events/s during a {cut.TotalSeconds:0} s cut | backlog | largest outbox backlog (bridge) " +
                "| link up again | catch-up, bridge | straight to the hub, QoS 1 publish+ack | bridge/baseline |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            await using (var publisher = await TestTransports.ConnectAsync(site.Url, component: "bench-scene"))
            {
                foreach (var rate in rates)
                {
                    var ids = new List<string>();
                    var logBefore = bridge.StandardError.Length;
                    wan.Cut();
                    await PublishAtAsync(publisher, rate, cut, ids, "edge/events/cam1");
                    var restored = Stopwatch.StartNew();
                    var restoredAt = DateTime.UtcNow;
                    wan.Restore();
                    await WaitAsync(() => ids.All(hubLog.Ids.ContainsKey), $"{ids.Count} events at the hub", TimeSpan.FromMinutes(10));
                    var catchUp = restored.Elapsed;
                    var linkUp = hubLog.Topics[FleetTopics.Link(Site)] - restoredAt;
                    var backlog = BridgeLog.LargestBacklog(bridge.StandardError[logBefore..]);
                    var baseline = await StraightToHubAsync(wan.MqttUrl, ids.Count);
                    Console.WriteLine($"| {rate} | {ids.Count:N0} | {backlog:N0} | {linkUp.TotalSeconds:0.0} s | {catchUp.TotalSeconds:0.0} s | " +
                        $"{baseline.TotalSeconds:0.0} s | {catchUp / baseline:0.00} |");
                }
            }

            await WanBytesPerCameraHourAsync(site, wan, hubLog, window);
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static CliProcess StartBridge(string siteUrl, string hubUrl, string outbox) => CliProcess.Start("dotnet",
        [CliProcess.EdgeEventsDll, "bridge", "--site", Site, "--hub", hubUrl, "--broker", siteUrl, "--client-id", "bench-bridge", "--outbox", outbox],
        new Dictionary<string, string> { ["EDGEEVENTS_Bridge__Hub__ReconnectMaxDelay"] = "00:00:01" });

    /// <summary>Scene events at <paramref name="rate"/> per second for <paramref name="length"/>.</summary>
    private static async Task PublishAtAsync(IMessageTransport publisher, int rate, TimeSpan length, List<string> ids, string topic)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < length)
        {
            while (ids.Count < (int)(clock.Elapsed.TotalSeconds * rate) + 1) ids.Add(await PublishEventAsync(publisher, topic));
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// The baseline: <paramref name="count"/> events of the same size published one by one over the same proxy, each
    /// waiting for the hub's acknowledgement.
    /// </summary>
    private static async Task<TimeSpan> StraightToHubAsync(string hubUrl, int count)
    {
        await using var direct = await TestTransports.ConnectAsync(hubUrl, component: "bench-direct");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) await PublishEventAsync(direct, "bench/baseline/cam1");
        return clock.Elapsed;
    }

    /// <summary>One scene event like the scene worker's (a person's <c>update</c>, about 900 bytes of JSON), at least once; returns its id.</summary>
    private static async Task<string> PublishEventAsync(IMessageTransport publisher, string topic)
    {
        var person = new SceneObject { TrackId = "cam1-20261207140000-1", Label = "person", Confidence = 0.9f, Box = new Box(100, 100, 200, 300) };
        var e = new SceneEvent
        {
            Camera = "cam1", Type = SceneEventTypes.Update, TrackId = person.TrackId, Label = "person", Before = person, After = person,
            Changes = [SceneChanges.Confidence],
        };
        await publisher.PublishAsync(new OutgoingMessage(topic, MessageCodec.Serialize(e, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, MessageId = e.Id,
        }, default);
        return e.Id;
    }

    private static async Task WanBytesPerCameraHourAsync(MqttTestBroker site, TcpProxy wan, HubLog hubLog, TimeSpan window)
    {
        await using var local = await TestTransports.ConnectAsync(site.Url, component: "bench-site");
        await using var everything = await local.SubscribeAsync(new SubscriptionRequest("edge/#")
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest, Capacity = 10_000,
        }, default);
        var siteBytes = new HubLog(everything);
        var model = TestData.Model("yolov8n_int8_dynamic.onnx");
        CliProcess[] workers =
        [
            CliProcess.StartEdgeEvents("detector", "--model", model, "--providers", "CPU", "--broker", site.Url, "--client-id", "bench-detector"),
            CliProcess.StartEdgeEvents("scene", "--broker", site.Url, "--client-id", "bench-scene-worker"),
            CliProcess.StartEdgeEvents("camera", "--camera", "cam1", "--source", TestData.SamplesFolder, "--repeat-each", "6", "--broker", site.Url, "--client-id", "bench-cam1"),
        ];
        try
        {
            // Warm up: the model loads and the first snapshot and events cross before the meters start.
            await WaitAsync(() => hubLog.Topics.ContainsKey(Fleet.ForSite(Site).Snapshots("cam1")), "a snapshot at the hub", TimeSpan.FromMinutes(2));
            var (up, down) = (wan.BytesUp, wan.BytesDown);
            var hubBefore = hubLog.BytesByKind();
            var siteBefore = siteBytes.BytesByKind();
            await Task.Delay(window);
            var wanBytes = wan.BytesUp - up + wan.BytesDown - down;
            var hubDelta = Delta(hubLog.BytesByKind(), hubBefore);
            var siteDelta = Delta(siteBytes.BytesByKind(), siteBefore);
            var perHour = 3600 / window.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"WAN bytes, one camera at 2 fps with the detector and scene worker, default bridge settings, {window.TotalSeconds:0} s:");
            Console.WriteLine("| | bytes in the window | per camera-hour |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| WAN, both ways (TCP payload through the proxy) | {wanBytes:N0} | {wanBytes * perHour / 1e6:N1} MB |");
            foreach (var (kind, bytes) in hubDelta.OrderByDescending(k => k.Value))
                Console.WriteLine($"| at the hub: {kind} payloads | {bytes:N0} | {bytes * perHour / 1e6:N1} MB |");
            var siteTotal = siteDelta.Values.Sum();
            Console.WriteLine($"| at the site: every payload under edge/ (baseline) | {siteTotal:N0} | {siteTotal * perHour / 1e6:N1} MB |");
            Console.WriteLine($"| WAN / site | {(double)wanBytes / siteTotal:P1} | |");
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }
    }

    private static Dictionary<string, long> Delta(Dictionary<string, long> after, Dictionary<string, long> before) =>
        after.ToDictionary(k => k.Key, k => k.Value - before.GetValueOrDefault(k.Key)).Where(k => k.Value > 0).ToDictionary();

    private static async Task WaitAsync(Func<bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No {what} within the time allowed.");
            await Task.Delay(20);
        }
    }

    /// <summary>What a subscription received: message ids, when each topic last arrived, and payload bytes per topic kind (the level after the prefix).</summary>
    private sealed class HubLog
    {
        private readonly ConcurrentDictionary<string, long> _bytes = new();

        public HubLog(IMessageSubscription subscription) => _ = Task.Run(async () =>
        {
            await foreach (var message in subscription.Messages.ReadAllAsync())
            {
                if (message.MessageId is { } id) Ids[id] = 0;
                Topics[message.Topic] = message.ReceivedAt.UtcDateTime;
                var levels = message.Topic.Split('/');
                _bytes.AddOrUpdate(levels.Length > 2 ? levels[^2] : message.Topic, message.Payload.Length, (_, total) => total + message.Payload.Length);
            }
        });

        public ConcurrentDictionary<string, byte> Ids { get; } = new();
        public ConcurrentDictionary<string, DateTime> Topics { get; } = new();
        public Dictionary<string, long> BytesByKind() => _bytes.ToDictionary();
    }
}
