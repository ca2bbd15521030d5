using EdgeEvents.Contracts.Messages;
using EdgeEvents.Scene.Tracking;
using static EdgeEvents.Scene.Tests.Synthetic;

namespace EdgeEvents.Scene.Tests;

public sealed class Tracker_Tests
{
    private static Tracker NewTracker(string camera = "cam1", SceneOptions? options = null) =>
        new(camera, options ?? SceneOptions.Default, []);

    private static Track TrackAt(Tracker tracker, Detection detection) =>
        Assert.Single(tracker.Tracks, t => t.Box == detection.Box);

    [Fact]
    public void Crossing_objects_keep_their_ids()
    {
        var tracker = NewTracker();
        string? idA = null, idB = null;
        // A walks right, B runs left on nearly the same line; they pass through each other at frame 9-10, where
        // B's new box lies closer to A's last box than A's own does: only the motion model tells them apart.
        for (var frame = 0; frame < 25; frame++)
        {
            var a = Person(15 * frame, 100);
            var b = Person(390 - 25 * frame, 104);
            // Alternate the detection order so matching cannot lean on it.
            tracker.Update(frame % 2 == 0 ? [a, b] : [b, a], At(frame));
            if (frame < 2) continue;
            Assert.Equal(2, tracker.Tracks.Count(t => t.IsConfirmed));
            idA ??= TrackAt(tracker, a).Id;
            idB ??= TrackAt(tracker, b).Id;
            Assert.Equal(idA, TrackAt(tracker, a).Id);
            Assert.Equal(idB, TrackAt(tracker, b).Id);
        }
        Assert.NotEqual(idA, idB);
    }

    [Fact]
    public void A_brief_miss_does_not_end_a_track()
    {
        var tracker = NewTracker();
        for (var frame = 0; frame < 5; frame++) tracker.Update([Person(100 + 5 * frame, 100)], At(frame));
        var id = Assert.Single(tracker.Tracks).Id;
        Assert.NotNull(id);

        // Hidden for a second (10 frames), well under LostAfter (3 s); it reappears where its motion said it would be.
        for (var frame = 5; frame < 15; frame++) Assert.Empty(tracker.Update([], At(frame)).Ended);
        var step = tracker.Update([Person(100 + 5 * 15, 100)], At(15));

        Assert.Empty(step.Ended);
        Assert.Empty(step.Confirmed);
        Assert.Equal(id, Assert.Single(tracker.Tracks).Id);
    }

    [Fact]
    public void A_track_unseen_for_lost_after_ends_even_without_frames()
    {
        var tracker = NewTracker(options: new SceneOptions { LostAfter = TimeSpan.FromSeconds(2) });
        for (var frame = 0; frame < 3; frame++) tracker.Update([Person(100, 100)], At(frame));

        Assert.Empty(tracker.Expire(At(2) + TimeSpan.FromSeconds(2)).Ended);
        var ended = Assert.Single(tracker.Expire(At(2) + TimeSpan.FromSeconds(2.1)).Ended);

        Assert.Equal(At(2), ended.LastSeen);
        Assert.Empty(tracker.Tracks);
    }

    [Fact]
    public void A_one_frame_false_positive_never_becomes_a_track()
    {
        var tracker = NewTracker();
        tracker.Update([Person(100, 100)], At(0));
        tracker.Update([Person(102, 100), Object("dog", 400, 300, 0.95f)], At(1));
        for (var frame = 2; frame < 10; frame++)
        {
            var step = tracker.Update([Person(100 + 2 * frame, 100)], At(frame));
            Assert.All(step.Confirmed, t => Assert.Equal("person", t.Label));
        }
        Assert.Equal("person", Assert.Single(tracker.Tracks).Label);
    }

    [Fact]
    public void A_track_is_confirmed_after_confirm_hits_consecutive_matches()
    {
        var tracker = NewTracker(options: new SceneOptions { ConfirmHits = 3 });
        Assert.Empty(tracker.Update([Person(100, 100)], At(0)).Confirmed);
        Assert.Empty(tracker.Update([Person(101, 100)], At(1)).Confirmed);
        var confirmed = Assert.Single(tracker.Update([Person(102, 100)], At(2)).Confirmed);
        Assert.Equal(3, confirmed.Hits);
        Assert.Equal(At(0), confirmed.FirstSeen);
    }

    [Fact]
    public void Track_ids_carry_camera_start_time_and_a_number_and_two_cameras_never_share_one()
    {
        var (cam1, cam2) = (NewTracker("cam1"), NewTracker("cam2"));
        var ids = new List<string>();
        for (var frame = 0; frame < 3; frame++)
        {
            Detection[] detections = [Person(100, 100), Person(300, 100), Object("car", 400, 300)];
            ids.AddRange(cam1.Update(detections, At(frame)).Confirmed.Select(t => t.Id!));
            ids.AddRange(cam2.Update(detections, At(frame)).Confirmed.Select(t => t.Id!));
        }

        Assert.Equal(6, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(["cam1-20261128101500-1", "cam1-20261128101500-2", "cam1-20261128101500-3"],
            ids.Where(i => i.StartsWith("cam1-", StringComparison.Ordinal)).Order());
        Assert.All(ids.Where(i => !i.StartsWith("cam1-", StringComparison.Ordinal)),
            id => Assert.StartsWith("cam2-20261128101500-", id));
    }

    [Fact]
    public void Low_confidence_detections_keep_a_confirmed_track_alive_but_start_none()
    {
        var tracker = NewTracker(options: new SceneOptions { LostAfter = TimeSpan.FromSeconds(1) });
        for (var frame = 0; frame < 3; frame++) tracker.Update([Person(100, 100)], At(frame));
        var id = Assert.Single(tracker.Tracks).Id;

        // Partly hidden for 3 s: only weak detections of it, plus a weak one elsewhere.
        for (var frame = 3; frame < 33; frame++)
        {
            var step = tracker.Update([Person(100, 100, confidence: 0.3f), Person(400, 100, confidence: 0.3f)],
                At(frame));
            Assert.Empty(step.Ended);
        }

        var track = Assert.Single(tracker.Tracks);
        Assert.Equal(id, track.Id);
        Assert.Equal(0.3f, track.Confidence);
        Assert.Equal(0.9f, track.TopConfidence);
    }

    [Fact]
    public void A_detection_of_another_label_never_continues_a_track()
    {
        var tracker = NewTracker();
        for (var frame = 0; frame < 3; frame++) tracker.Update([Person(100, 100)], At(frame));
        var person = Assert.Single(tracker.Tracks);

        tracker.Update([Object("dog", 100, 100)], At(3));

        Assert.Equal(At(2), person.LastSeen);
        Assert.Contains(tracker.Tracks, t => t.Label == "dog" && !t.IsConfirmed);
    }

    [Fact]
    public void An_object_resting_within_the_distance_becomes_stationary_and_moving_again_when_it_leaves()
    {
        var tracker = NewTracker(
            options: new SceneOptions { StationaryDistance = 10, StationaryAfter = TimeSpan.FromSeconds(1) });
        // Jitters by up to 4 px for 1 s.
        for (var frame = 0; frame <= 10; frame++) tracker.Update([Person(200 + frame % 3 * 2, 100)], At(frame));
        var track = Assert.Single(tracker.Tracks);
        Assert.True(track.Stationary);

        tracker.Update([Person(215, 100)], At(11));
        Assert.False(track.Stationary);
    }

    [Fact]
    public void Zones_follow_the_box_bottom_centre()
    {
        // "door": the right half of a 640x480 image, below y = 200.
        var door = Zone.Parse("door", "320,200,640,200,640,480,320,480");
        var tracker = new Tracker("cam1", SceneOptions.Default, [door]);

        // Bottom-centre x = box x + 30: inside from x = 290 on, out again below it.
        float[] xs = [260, 270, 280, 290, 300, 290, 280];
        bool[] inside = [false, false, false, true, true, true, false];
        for (var frame = 0; frame < xs.Length; frame++)
        {
            tracker.Update([Person(xs[frame], 100)], At(frame));
            var track = Assert.Single(tracker.Tracks);
            Assert.Equal(inside[frame] ? ["door"] : [], track.CurrentZones);
        }
        Assert.Equal(["door"], Assert.Single(tracker.Tracks).EnteredZones);
    }
}
