using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene.Tests;

public sealed class SceneHistory_Tests
{
    [Fact]
    public void History_keeps_the_last_events_and_snapshots_per_camera_oldest_first()
    {
        var history = new SceneHistory(new SceneOptions { HistoryEvents = 3, HistorySnapshots = 2 });
        for (var i = 0; i < 5; i++)
        {
            history.AddEvent(new SceneEvent { Camera = "cam1", Type = SceneEventTypes.New, TrackId = $"t{i}" });
            history.AddSnapshot(new SceneState { Camera = "cam1", Frame = new FrameRef { Sequence = i } });
        }
        history.AddEvent(new SceneEvent { Camera = "cam2", Type = SceneEventTypes.End, TrackId = "x" });

        Assert.Equal(["t2", "t3", "t4"], history.Events("cam1").Select(e => e.TrackId));
        Assert.Equal([3L, 4L], history.Snapshots("cam1").Select(s => s.Frame.Sequence));
        Assert.Equal(["x"], history.Events("cam2").Select(e => e.TrackId));
        Assert.Empty(history.Snapshots("cam2"));
        Assert.Empty(history.Events("cam3"));
    }
}
