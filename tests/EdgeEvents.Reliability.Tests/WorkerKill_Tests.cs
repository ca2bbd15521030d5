using System.Collections.Concurrent;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Reliability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Reliability.Tests;

/// <summary>
/// The real <c>edge-events scene</c> process killed with SIGKILL while its outbox holds events, then started again.
/// </summary>
public sealed class WorkerKill_Tests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Cameras = ["cam1", "cam2", "cam3"];
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-kill-");

    /// <summary>
    /// A burst of detections reaches the scene worker; its link is cut as its first events arrive, so the events of the
    /// rest of the burst pile up in its outbox, and it is killed holding them. Started again with the same client id
    /// and outbox, it sends them, then tracks a second burst. The consumer (persistent session, de-duplicating) must
    /// get every event either process accepted exactly once, in the order each camera's events were created.
    /// </summary>
    [Fact]
    public async Task Every_event_a_killed_scene_worker_accepted_arrives_exactly_once_in_order_after_it_starts_again()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var sceneLink = new TcpProxy(broker.Port);
        await using var consumer = await TestTransports.ConnectAsync(
            TestTransports.Options(broker.Url, "kill-consumer", persistent: true));
        await using var subscription = await consumer.SubscribeAsync(
            new SubscriptionRequest("edge/events/+") { Capacity = 1000 }, default);
        await using var events = new EventLog(subscription);
        await using var detector = await TestTransports.ConnectAsync(broker.Url, component: "detector");
        var outbox = Path.Combine(_folder.FullName, "scene.outbox.db");

        // 1. The first burst; cut the scene's link as soon as its first event arrives, then kill it.
        long firstPending;
        List<string> heldAtKill;
        await using (var first = StartScene(sceneLink.MqttUrl, outbox))
        {
            await WaitForLogAsync(first, "Scene worker tracking");
            await PublishBurstAsync(detector, firstSequence: 0, frames: 200);
            await events.WaitUntilAsync(log => log.Count > 0, Timeout);
            sceneLink.Cut();
            await Task.Delay(2000);
            first.Kill();
            await first.WaitForExitAsync(Timeout);
            heldAtKill = PendingIds(outbox);
            firstPending = heldAtKill.Count;
        }
        Assert.True(firstPending > 0, "The scene worker should have been killed with events in its outbox.");

        // 2. The same worker again (same client id, same outbox) over the restored link, and a second burst.
        sceneLink.Restore();
        await using (var second = StartScene(sceneLink.MqttUrl, outbox))
        {
            await events.WaitUntilAsync(log => heldAtKill.All(log.Contains), Timeout);
            await PublishBurstAsync(detector, firstSequence: 200, frames: 50);
            await events.WaitUntilQuietAsync(TimeSpan.FromSeconds(3), Timeout);
            second.Interrupt();
            await second.WaitForExitAsync(Timeout);
        }
        var left = PendingIds(outbox);

        var figures = events.AssertExactlyOnceInOrderPerCamera(accepted: heldAtKill.Concat(left), left.Count);
        output.WriteLine(
            $"scene worker killed (SIGKILL) holding {firstPending} events in its outbox, started again: {figures}");
    }

    /// <summary>
    /// The scene worker as a child process: persistent session, fixed client id, outbox, fast reconnects, tracks that
    /// confirm at once and end after 100 ms.
    /// </summary>
    private static CliProcess StartScene(string brokerUrl, string outbox) =>
        CliProcess.Start("dotnet",
            [
                CliProcess.EdgeEventsDll, "scene", "--broker", brokerUrl, "--client-id", "scene-kill",
                "--confirm-hits", "1", "--lost-after", "100ms",
            ],
            new Dictionary<string, string>
            {
                ["EDGEEVENTS_Transport__Outbox__Path"] = outbox,
                ["EDGEEVENTS_Transport__ReconnectMaxDelay"] = "00:00:00.5",
            });

    /// <summary>
    /// Waits for a line the process logs (to stderr), e.g. that it has subscribed: detections sent before that would
    /// find no session.
    /// </summary>
    private static async Task WaitForLogAsync(CliProcess process, string text)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!process.StandardError.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline && !process.HasExited,
                $"No '{text}' in the log:\n{process.StandardError}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Per camera, <paramref name="frames"/> frames 40 ms apart (capture times in the recent past): a person in five,
    /// absent in the next five.
    /// </summary>
    private static async Task PublishBurstAsync(IMessageTransport detector, long firstSequence, int frames)
    {
        var start = DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(40 * frames);
        var person = new Detection
        {
            ClassId = 0, Label = "person", Confidence = 0.9f, Box = new Box(100, 100, 200, 300),
        };
        for (var i = 0; i < frames; i++)
        {
            foreach (var camera in Cameras)
            {
                var set = new DetectionSet
                {
                    Camera = camera, FrameSequence = firstSequence + i, CapturedAt = start.AddMilliseconds(40 * i),
                    ModelId = "test",
                    ImageWidth = 640, ImageHeight = 480,
                    Detections = i / 5 % 2 == 0 ? [person] : [],
                };
                var payload = MessageCodec.Serialize(set, PayloadFormat.Json);
                await detector.PublishAsync(new OutgoingMessage($"edge/detections/{camera}", payload)
                {
                    ContentType = ContentTypes.Json, MessageId = set.Id,
                }, default);
            }
        }
    }

    /// <summary>
    /// The ids of the events waiting in an outbox file no process holds (it also holds retained scene states).
    /// </summary>
    private static List<string> PendingIds(string path)
    {
        using var store = OutboxStore.Open(path, new OutboxOptions { Path = path });
        return
        [
            .. store.ReadAfter(0, int.MaxValue)
                .Where(e => e.Message.Topic.StartsWith("edge/events/", StringComparison.Ordinal))
                .Select(e => e.Message.MessageId!),
        ];
    }

    public void Dispose() => _folder.Delete(recursive: true);

    /// <summary>
    /// Scene events as the consumer's handler sees them (after de-duplication), per camera in arrival order.
    /// </summary>
    private sealed class EventLog : IAsyncDisposable
    {
        private readonly IMessageSubscription _subscription;
        private readonly ConcurrentQueue<SceneEvent> _events = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reader;
        private DateTime _lastArrival = DateTime.UtcNow;

        public EventLog(IMessageSubscription subscription)
        {
            _subscription = subscription;
            _reader = Task.Run(async () =>
            {
                try
                {
                    await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                    {
                        _events.Enqueue(MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType));
                        _lastArrival = DateTime.UtcNow;
                    }
                }
                catch (OperationCanceledException) { }
            });
        }

        public int Count => _events.Count;
        public bool Contains(string id) => _events.Any(e => e.Id == id);

        public async Task WaitUntilAsync(Func<EventLog, bool> done, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!done(this))
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"Only {Count} events arrived within {timeout.TotalSeconds:0} s.");
                await Task.Delay(50);
            }
        }

        public Task WaitUntilQuietAsync(TimeSpan quiet, TimeSpan timeout) =>
            WaitUntilAsync(log => log.Count > 0 && DateTime.UtcNow - log._lastArrival > quiet, timeout);

        /// <summary>
        /// Asserts that every event held in an outbox arrived, none twice, and each camera's events in creation order
        /// (the outbox sends in the order events were accepted, which is the order they were created).
        /// Returns the figures.
        /// </summary>
        public string AssertExactlyOnceInOrderPerCamera(IEnumerable<string> accepted, int leftInOutbox)
        {
            var events = _events.ToList();
            var received = events.Select(e => e.Id).ToHashSet();
            var all = received.Union(accepted).ToHashSet();
            var lost = all.Count - received.Count;
            var figures = $"sent {all.Count}, received {events.Count} (distinct {received.Count}), " +
                $"duplicates suppressed {_subscription.Duplicates}, lost {lost}, dropped {_subscription.Dropped}, " +
                $"left in outbox {leftInOutbox}";
            Assert.True(lost == 0, figures);
            Assert.Equal(received.Count, events.Count);
            foreach (var camera in Cameras)
            {
                var times = events.Where(e => e.Camera == camera).Select(e => e.CreatedAt).ToList();
                Assert.True(times.Count > 0, $"{camera}: no events");
                Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second),
                    $"{camera}: events out of creation order");
            }
            return figures;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reader;
            _stop.Dispose();
        }
    }
}
