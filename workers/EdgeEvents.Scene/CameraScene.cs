using EdgeEvents.Contracts.Messages;
using EdgeEvents.Scene.Tracking;

namespace EdgeEvents.Scene;

/// <summary>
/// One camera's tracker plus the events it implies: <c>new</c> when a track is confirmed, <c>update</c> when an
/// announced object changes significantly (zone entered or left, became stationary or moving, top confidence up by
/// <see cref="SceneOptions.ConfidenceMargin"/>), <c>end</c> when a track is gone, and <c>count</c> when the number
/// of objects of a label changes. Pure logic: no broker, no wall clock. Not thread-safe: one caller per camera.
/// </summary>
public sealed class CameraScene
{
    private readonly Tracker _tracker;
    private readonly SceneOptions _options;
    // What the last event said about each confirmed track: the "before" of its next update.
    private readonly Dictionary<string, SceneObject> _announced = new(StringComparer.Ordinal);
    private Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public CameraScene(string camera, SceneOptions options)
    {
        Camera = camera;
        _options = options;
        _tracker = new Tracker(camera, options, options.ZonesFor(camera));
    }

    public string Camera { get; }

    /// <summary>The last frame applied (see <see cref="HasFrames"/>).</summary>
    public FrameRef Frame { get; private set; } = new();

    /// <summary>True once a frame was applied.</summary>
    public bool HasFrames { get; private set; }

    /// <summary>True when the scene changed since <see cref="TakeState"/> last ran (and before the first).</summary>
    public bool Changed { get; private set; } = true;

    /// <summary>
    /// False for a frame older than the last applied one: a lower or equal sequence number with a capture time not
    /// after the last. A lower number with a later capture time is a restarted camera and is accepted.
    /// </summary>
    public bool IsNewer(long sequence, DateTimeOffset capturedAt) =>
        !HasFrames || sequence > Frame.Sequence || capturedAt > Frame.CapturedAt;

    /// <summary>Tracks one frame and returns the events it caused, in order.</summary>
    /// <param name="capturedAt">The frame's capture time after clock-skew correction.</param>
    public IReadOnlyList<SceneEvent> Apply(DetectionSet detections, DateTimeOffset capturedAt)
    {
        Frame = new FrameRef
        {
            Sequence = detections.FrameSequence, CapturedAt = capturedAt, FrameId = detections.FrameId,
        };
        HasFrames = true;
        var step = _tracker.Update(detections.Detections, capturedAt);
        var events = Events(step, capturedAt);
        Changed |= events.Count > 0 || step.Matched.Count > 0;
        return events;
    }

    /// <summary>Ends tracks unseen for too long by <paramref name="now"/> (capture-time clock).</summary>
    public IReadOnlyList<SceneEvent> Expire(DateTimeOffset now)
    {
        var events = Events(_tracker.Expire(now), now);
        Changed |= events.Count > 0;
        return events;
    }

    /// <summary>The current scene: confirmed objects and counts per label.</summary>
    public SceneState State() => new()
    {
        Camera = Camera,
        Frame = Frame,
        Objects = [.. _tracker.Tracks.Where(t => t.IsConfirmed).Select(t => t.ToSceneObject())],
        Counts = new Dictionary<string, int>(_counts, StringComparer.Ordinal),
    };

    /// <summary>The current scene, for publishing: clears <see cref="Changed"/>.</summary>
    public SceneState TakeState()
    {
        Changed = false;
        return State();
    }

    private List<SceneEvent> Events(TrackerStep step, DateTimeOffset at)
    {
        var events = new List<SceneEvent>();
        foreach (var track in step.Confirmed)
        {
            var after = track.ToSceneObject();
            _announced[after.TrackId] = after;
            events.Add(Event(SceneEventTypes.New, null, after, endTime: null, []));
        }
        foreach (var track in step.Matched)
        {
            if (step.Confirmed.Contains(track)) continue;
            var before = _announced[track.Id!];
            var changes = Changes(before, track);
            if (changes.Count == 0) continue;
            var after = track.ToSceneObject();
            _announced[after.TrackId] = after;
            events.Add(Event(SceneEventTypes.Update, before, after, endTime: null, changes));
        }
        foreach (var track in step.Ended)
        {
            _announced.Remove(track.Id!, out var before);
            var after = track.ToSceneObject();
            events.Add(Event(SceneEventTypes.End, before, after, after.LastSeen, []));
        }
        if (CountEvent(at) is { } count) events.Add(count);
        return events;
    }

    private List<string> Changes(SceneObject before, Track now)
    {
        var changes = new List<string>();
        if (now.CurrentZones.Any(z => !before.CurrentZones.Contains(z))) changes.Add(SceneChanges.ZoneEntered);
        if (before.CurrentZones.Any(z => !now.CurrentZones.Contains(z))) changes.Add(SceneChanges.ZoneLeft);
        if (now.Stationary != before.Stationary)
            changes.Add(now.Stationary ? SceneChanges.Stationary : SceneChanges.Moving);
        if (now.TopConfidence >= before.TopConfidence + _options.ConfidenceMargin) changes.Add(SceneChanges.Confidence);
        return changes;
    }

    private SceneEvent? CountEvent(DateTimeOffset at)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var track in _tracker.Tracks)
            if (track.IsConfirmed) counts[track.Label] = counts.GetValueOrDefault(track.Label) + 1;
        var changed = counts.Keys.Union(_counts.Keys)
            .Where(label => counts.GetValueOrDefault(label) != _counts.GetValueOrDefault(label))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (changed.Count == 0) return null;
        _counts = counts;
        return new SceneEvent
        {
            Camera = Camera,
            Type = SceneEventTypes.Count,
            Label = changed.Count == 1 ? changed[0] : null,
            StartTime = at,
            Frame = Frame,
            Changes = changed,
            Counts = new Dictionary<string, int>(counts, StringComparer.Ordinal),
        };
    }

    private SceneEvent Event(string type, SceneObject? before, SceneObject after, DateTimeOffset? endTime,
        IReadOnlyList<string> changes) => new()
        {
            Camera = Camera,
            Type = type,
            TrackId = after.TrackId,
            Label = after.Label,
            Before = before,
            After = after,
            StartTime = after.FirstSeen,
            EndTime = endTime,
            Zones = after.EnteredZones,
            Frame = Frame,
            Changes = changes,
        };
}
