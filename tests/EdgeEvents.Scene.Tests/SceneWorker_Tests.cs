using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Testing;
using static EdgeEvents.Scene.Tests.Synthetic;

namespace EdgeEvents.Scene.Tests;

/// <summary>The worker end to end: a real host, the real MQTT transport and an embedded broker per test.</summary>
public sealed class SceneWorker_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);

    private static string Describe(SceneEvent e) => e.Type switch
    {
        SceneEventTypes.Count =>
            $"count {string.Join(",", e.Counts!.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}",
        SceneEventTypes.Update => $"update {e.Label} {string.Join(",", e.Changes)}",
        _ => $"{e.Type} {e.Label}",
    };

    private static async Task<List<SceneEvent>> EventsAsync(Pipeline.Transport.IMessageSubscription subscription,
        int count) =>
        [.. (await Receive.ExactlyAsync(subscription, count, Timeout)).Select(SceneHost.Decode<SceneEvent>)];

    // Scripted capture times are a timeline of their own, not the wall clock: a wide skew limit keeps a slow run
    // from clamping them. Wall-clock pauses still count: the worker expires tracks of a camera that goes quiet.
    private static readonly Dictionary<string, string?> Gate = new()
    {
        ["StationaryAfter"] = "00:00:02",
        ["MaxClockSkew"] = "01:00:00",
        ["Zones:gate:door"] = "320,0,640,0,640,480,320,480",
    };

    /// <summary>
    /// A parked car; a person walking right into the door zone (bottom-centre x >= 320 from frame 14) until frame 25;
    /// a dog seen in frame 5 only.
    /// </summary>
    private static DetectionSet GateFrame(DateTimeOffset start, int frame)
    {
        var detections = new List<Detection> { Object("car", 40, 300) };
        if (frame <= 25) detections.Add(Person(150 + 10 * frame, 100));
        if (frame == 5) detections.Add(Object("dog", 500, 350, 0.95f));
        return Frame(start, "gate", frame, [.. detections]);
    }

    [Fact]
    public async Task A_scripted_sequence_yields_exactly_the_expected_events()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var scene = await SceneHost.StartAsync(broker.Url, new(Gate) { ["LostAfter"] = "00:00:02" });
        await using var events = await scene.SubscribeAsync("edge/events/gate");
        var start = DateTimeOffset.UtcNow;

        // The person leaves after frame 25 and ends 2 s later in capture time (frame 46); then the camera stops
        // sending and the car ends on the worker's timer.
        for (var frame = 0; frame < 60; frame++) await scene.PublishAsync(GateFrame(start, frame));

        var all = await EventsAsync(events, 9);
        Assert.Equal(
            ["new car", "new person", "count car=1,person=1", "update person zone_entered", "update car stationary",
             "end person", "count car=1", "end car", "count "],
            all.Select(Describe));
        Assert.Empty(await Receive.UntilQuietAsync(events.Messages, Quiet));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        var (person, zone, stationary, end) = (all[1], all[3], all[4], all[5]);
        Assert.Equal(start + 2 * FramePeriod, person.Frame.CapturedAt);
        Assert.Equal(start, person.StartTime);
        Assert.Equal(14, zone.Frame.Sequence);
        Assert.Equal(["door"], zone.After!.CurrentZones);
        Assert.Equal(20, stationary.Frame.Sequence);
        Assert.Equal(person.TrackId, end.TrackId);
        Assert.Equal(46, end.Frame.Sequence);
        Assert.Equal(start + 25 * FramePeriod, end.EndTime);
        Assert.Equal(["door"], end.Zones);
        Assert.Equal(all[0].TrackId, all[7].TrackId);
        Assert.Equal(0, scene.Component.Errors.Count);
        Assert.Equal(all.Select(e => e.Id), scene.Worker.History.Events("gate").Select(e => e.Id));
    }

    [Fact]
    public async Task A_late_subscriber_gets_the_current_scene_from_the_broker_at_once()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var scene = await SceneHost.StartAsync(broker.Url, new(Gate) { ["LostAfter"] = "00:01:00" });
        await using var events = await scene.SubscribeAsync("edge/events/gate");
        await using var states = await scene.SubscribeAsync("edge/scene/gate");
        var start = DateTimeOffset.UtcNow;

        for (var frame = 0; frame <= 20; frame++) await scene.PublishAsync(GateFrame(start, frame));
        var announced = await EventsAsync(events, 5);
        // The rate-limited scene settles on frame 20; a subscriber arriving now gets it from the broker.
        while (SceneHost.Decode<SceneState>((await Receive.ExactlyAsync(states, 1, Timeout))[0]).Frame.Sequence != 20)
        {
        }

        await using var late = await TestTransports.ConnectAsync(broker.Url);
        await using var lateScene = await late.SubscribeAsync(new("edge/scene/gate"), default);
        var retained = (await Receive.ExactlyAsync(lateScene, 1, TimeSpan.FromSeconds(2)))[0];

        Assert.True(retained.Retained);
        var state = SceneHost.Decode<SceneState>(retained);
        Assert.Equal(20, state.Frame.Sequence);
        Assert.Equal(new Dictionary<string, int> { ["car"] = 1, ["person"] = 1 }, state.Counts);
        var car = Assert.Single(state.Objects, o => o.Label == "car");
        var person = Assert.Single(state.Objects, o => o.Label == "person");
        Assert.Equal(announced[0].TrackId, car.TrackId);
        Assert.True(car.Stationary);
        Assert.Equal(announced[1].TrackId, person.TrackId);
        Assert.Equal(["door"], person.CurrentZones);
        Assert.Equal(start + 20 * FramePeriod, person.LastSeen);
    }

    [Fact]
    public async Task A_persistent_subscriber_that_was_offline_receives_every_event_it_missed_once()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var scene = await SceneHost.StartAsync(broker.Url,
            new() { ["LostAfter"] = "00:00:01", ["MaxClockSkew"] = "01:00:00" });
        await using var reference = await scene.SubscribeAsync("edge/events/+");
        var start = DateTimeOffset.UtcNow;
        var frame = 0;
        // Each burst: a person and a car for 10 frames, then 15 empty frames end them: new, new,
        // count, end, end, count.
        async Task BurstAsync()
        {
            for (var i = 0; i < 10; i++, frame++)
                await scene.PublishAsync(Frame(start, "yard", frame, Person(100, 100), Object("car", 300, 200)));
            for (var i = 0; i < 15; i++, frame++) await scene.PublishAsync(Frame(start, "yard", frame));
        }
        const int perBurst = 6;
        var dashboard = TestTransports.Options(broker.Url, clientId: "dashboard-1", persistent: true);

        var seen = new List<SceneEvent>();
        await using (var online = await TestTransports.ConnectAsync(dashboard))
        {
            // Not disposed: that would unsubscribe; the session keeps the subscription while we are away.
            var subscription = await online.SubscribeAsync(new("edge/events/+"), default);
            await BurstAsync();
            seen.AddRange(await EventsAsync(subscription, perBurst));
        }

        await BurstAsync();
        await BurstAsync();
        var expected = await EventsAsync(reference, 3 * perBurst);

        await using var back = await TestTransports.ConnectAsync(dashboard);
        await using var resumed = await back.SubscribeAsync(new("edge/events/+"), default);
        seen.AddRange(await EventsAsync(resumed, 2 * perBurst));
        Assert.Empty(await Receive.UntilQuietAsync(resumed.Messages, Quiet));

        Assert.Equal(expected.Select(e => e.Id), seen.Select(e => e.Id));
        Assert.Equal(3, seen.Count(e => e.Type == SceneEventTypes.New && e.Label == "car"));
        Assert.Equal(0, scene.Component.Errors.Count);
    }

    [Fact]
    public async Task Detections_published_while_the_worker_is_down_are_tracked_when_it_returns()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using (await SceneHost.StartAsync(broker.Url, clientId: "scene-1"))
        {
        }
        await using var camera = await TestTransports.ConnectAsync(broker.Url);
        await using var events = await camera.SubscribeAsync(new("edge/events/cam1") { Capacity = 100 }, default);
        var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1);
        for (var frame = 0; frame < 5; frame++)
        {
            var detections = Frame(start, "cam1", frame, Person(100, 100));
            var payload = MessageCodec.Serialize(detections, PayloadFormat.Json);
            await camera.PublishAsync(new("edge/detections/cam1", payload) { ContentType = ContentTypes.Json },
                default);
        }

        await using var scene = await SceneHost.StartAsync(broker.Url, clientId: "scene-1");

        var created = (await EventsAsync(events, 2))[0];
        Assert.Equal(SceneEventTypes.New, created.Type);
        Assert.Equal(start + 2 * FramePeriod, created.Frame.CapturedAt);
    }

    [Fact]
    public async Task Malformed_out_of_order_and_skewed_detections_are_reported_and_the_worker_keeps_tracking()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var scene = await SceneHost.StartAsync(broker.Url);
        await using var errors = await scene.SubscribeAsync("edge/errors/scene");
        await using var events = await scene.SubscribeAsync("edge/events/cam1");
        var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(2);

        for (var frame = 10; frame < 13; frame++)
            await scene.PublishAsync(Frame(start, "cam1", frame, Person(100, 100)), PayloadFormat.Json);
        await scene.PublishRawAsync("cam1", "{\"camera\":\"cam1\",\"detections\":["u8.ToArray(), ContentTypes.Json);
        await scene.PublishRawAsync("cam1", [0xc1, 0x00, 0xff]);
        var wrongCamera = MessageCodec.Serialize(Frame(start, "cam2", 13, Person(100, 100)), PayloadFormat.MessagePack);
        await scene.PublishRawAsync("cam1", wrongCamera, ContentTypes.MessagePack);
        await scene.PublishAsync(Frame(start, "cam1", 5, Person(100, 100)));
        await scene.PublishAsync(
            Frame(start, "cam1", 14, Person(100, 100)) with { CapturedAt = DateTimeOffset.UtcNow.AddHours(1) });
        // Still tracking: a car confirmed over three more frames.
        for (var frame = 15; frame < 18; frame++)
            await scene.PublishAsync(Frame(start, "cam1", frame, Person(100, 100), Object("car", 300, 300)));

        Assert.Equal(["new person", "count person=1", "new car", "count car=1,person=1"],
            (await EventsAsync(events, 4)).Select(Describe));
        var reported = (await Receive.ExactlyAsync(errors, 5, Timeout)).Select(SceneHost.Decode<ErrorEvent>).ToList();
        Assert.Equal(
            [
                ErrorKinds.MalformedPayload, ErrorKinds.MalformedPayload, ErrorKinds.MalformedPayload,
                ErrorKinds.OutOfOrder, ErrorKinds.ClockSkew,
            ],
            reported.Select(e => e.Kind));
        Assert.All(reported, e => Assert.Equal("scene", e.Component));
        Assert.Contains("does not match the topic's camera 'cam1'", reported[2].Message, StringComparison.Ordinal);
        Assert.Equal("cam1", reported[3].Camera);
        Assert.Equal(5, scene.Component.Errors.Count);
    }

    [Fact]
    public async Task The_scene_is_published_again_after_the_broker_restarts_empty()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        // Long LostAfter: the person must still be there when the broker comes back.
        await using var scene = await SceneHost.StartAsync(broker.Url, new() { ["LostAfter"] = "00:00:30" });
        var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1);
        for (var frame = 0; frame < 3; frame++) await scene.PublishAsync(Frame(start, "cam1", frame, Person(100, 100)));
        await using (var states = await scene.SubscribeAsync("edge/scene/cam1"))
        {
            while (SceneHost.Decode<SceneState>((await Receive.ExactlyAsync(states, 1, Timeout))[0]).Objects.Count == 0)
            {
            }
        }

        // The embedded broker keeps retained messages in memory only:
        // after a restart only a republish brings the scene back.
        await broker.RestartAsync();

        await using var late = await TestTransports.ConnectAsync(broker.Url);
        await using var lateScene = await late.SubscribeAsync(new("edge/scene/cam1"), default);
        var state = SceneHost.Decode<SceneState>((await Receive.ExactlyAsync(lateScene, 1, Timeout))[0]);
        Assert.Equal("person", Assert.Single(state.Objects).Label);
    }
}
