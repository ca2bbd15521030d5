using EdgeEvents.Contracts.Messages;
using static EdgeEvents.Scene.Tests.Synthetic;

namespace EdgeEvents.Scene.Tests;

public sealed class CameraScene_Tests
{
    private static string Describe(SceneEvent e) => e.Type switch
    {
        SceneEventTypes.Count =>
            $"count {string.Join(",", e.Counts!.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}",
        SceneEventTypes.Update => $"update {e.Label} {string.Join(",", e.Changes)}",
        _ => $"{e.Type} {e.Label}",
    };

    [Fact]
    public void A_one_frame_false_positive_makes_no_new_event()
    {
        var scene = new CameraScene("cam1", SceneOptions.Default);
        var events = new List<SceneEvent>();
        for (var frame = 0; frame < 40; frame++)
        {
            Detection[] detections = frame == 5
                ? [Person(100, 100), Object("dog", 400, 300, 0.97f)]
                : [Person(100, 100)];
            events.AddRange(scene.Apply(Frame("cam1", frame, detections), At(frame)));
        }
        events.AddRange(scene.Expire(At(40) + TimeSpan.FromSeconds(10)));

        Assert.Equal(["new person", "count person=1", "end person", "count "], events.Select(Describe));
    }

    [Fact]
    public void An_object_lifecycle_produces_new_then_end_with_before_and_after()
    {
        var scene = new CameraScene("cam1", new SceneOptions { LostAfter = TimeSpan.FromSeconds(1) });
        var events = new List<SceneEvent>();
        for (var frame = 0; frame < 5; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Person(100 + frame, 100)), At(frame)));
        // Then the camera keeps sending empty frames until the track is lost.
        for (var frame = 5; frame < 20; frame++) events.AddRange(scene.Apply(Frame("cam1", frame), At(frame)));

        Assert.Equal(["new person", "count person=1", "end person", "count "], events.Select(Describe));
        var (created, ended) = (events[0], events[2]);
        Assert.Null(created.Before);
        Assert.Equal("cam1-20261128101500-1", created.TrackId);
        Assert.Equal(created.TrackId, ended.TrackId);
        Assert.Equal(At(0), created.StartTime);
        Assert.Null(created.EndTime);
        Assert.Equal(2, created.Frame.Sequence);
        Assert.Equal("frame-2", created.Frame.FrameId);
        Assert.Equal(created.After, ended.Before);
        Assert.Equal(At(4), ended.EndTime);
        Assert.Equal(At(4), ended.After!.LastSeen);
        Assert.Empty(scene.State().Objects);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public void Entering_and_leaving_a_zone_raise_updates_and_entered_zones_remember_it()
    {
        var options = new SceneOptions
        {
            Zones = new() { ["cam1"] = new() { ["door"] = "320,200,640,200,640,480,320,480" } },
        };
        var scene = new CameraScene("cam1", options);
        var events = new List<SceneEvent>();
        // Walks right into the door zone (bottom-centre crosses x = 320 at frame 13), then back out.
        for (var frame = 0; frame < 20; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Person(100 + 10 * frame, 100)), At(frame)));
        for (var frame = 20; frame < 30; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Person(290 - 10 * (frame - 20), 100)), At(frame)));

        Assert.Equal(["new person", "count person=1", "update person zone_entered", "update person zone_left"],
            events.Select(Describe));
        var (entered, left) = (events[2], events[3]);
        Assert.Empty(entered.Before!.CurrentZones);
        Assert.Equal(["door"], entered.After!.CurrentZones);
        Assert.Equal(["door"], entered.Zones);
        Assert.Equal(entered.After, left.Before);
        Assert.Empty(left.After!.CurrentZones);
        Assert.Equal(["door"], left.After.EnteredZones);
    }

    [Fact]
    public void Becoming_stationary_and_moving_again_raise_updates()
    {
        var scene = new CameraScene("cam1", new SceneOptions { StationaryAfter = TimeSpan.FromSeconds(2) });
        var events = new List<SceneEvent>();
        for (var frame = 0; frame < 30; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Object("car", 300, 300)), At(frame)));
        for (var frame = 30; frame < 35; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Object("car", 300 + 8 * (frame - 29), 300)), At(frame)));

        Assert.Equal(["new car", "count car=1", "update car stationary", "update car moving"], events.Select(Describe));
        Assert.Equal(At(20), events[2].Frame.CapturedAt);
        Assert.True(events[2].After!.Stationary);
        Assert.False(events[3].After!.Stationary);
    }

    [Fact]
    public void A_better_confidence_raises_an_update_only_past_the_margin()
    {
        var scene = new CameraScene("cam1", new SceneOptions { ConfidenceMargin = 0.1f });
        var events = new List<SceneEvent>();
        float[] confidences = [0.6f, 0.6f, 0.6f, 0.65f, 0.68f, 0.72f, 0.75f, 0.7f];
        for (var frame = 0; frame < confidences.Length; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Person(100, 100, confidences[frame])), At(frame)));

        Assert.Equal(["new person", "count person=1", "update person confidence"], events.Select(Describe));
        Assert.Equal(0.6f, events[2].Before!.TopConfidence);
        Assert.Equal(0.72f, events[2].After!.TopConfidence);
    }

    [Fact]
    public void Counts_per_label_change_with_confirmed_objects_only()
    {
        var scene = new CameraScene("cam1", new SceneOptions { LostAfter = TimeSpan.FromMilliseconds(500) });
        var events = new List<SceneEvent>();
        for (var frame = 0; frame < 3; frame++)
        {
            events.AddRange(scene.Apply(
                Frame("cam1", frame, Person(100, 100), Person(300, 100), Object("car", 400, 300)), At(frame)));
        }
        for (var frame = 3; frame < 10; frame++)
            events.AddRange(scene.Apply(Frame("cam1", frame, Person(100, 100), Object("car", 400, 300)), At(frame)));

        var counts = events.Where(e => e.Type == SceneEventTypes.Count).ToList();
        Assert.Equal(["count car=1,person=2", "count car=1,person=1"], counts.Select(Describe));
        Assert.Equal(["car", "person"], counts[0].Changes);
        Assert.Equal(["person"], counts[1].Changes);
        Assert.Equal("person", counts[1].Label);
        var state = scene.State();
        Assert.Equal(2, state.Objects.Count);
        Assert.Equal(new Dictionary<string, int> { ["car"] = 1, ["person"] = 1 }, state.Counts);
    }

    [Fact]
    public void Only_frames_newer_than_the_last_are_accepted_but_a_restarted_camera_is()
    {
        var scene = new CameraScene("cam1", SceneOptions.Default);
        scene.Apply(Frame("cam1", 10), At(10));

        Assert.False(scene.IsNewer(9, At(9)));
        Assert.False(scene.IsNewer(10, At(10)));
        Assert.True(scene.IsNewer(11, At(11)));
        Assert.True(scene.IsNewer(0, At(12)));
    }
}
