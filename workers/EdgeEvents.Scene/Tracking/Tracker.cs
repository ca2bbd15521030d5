using System.Globalization;
using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene.Tracking;

/// <summary>What one tracker step changed in the set of confirmed tracks.</summary>
public sealed record TrackerStep(
    IReadOnlyList<Track> Confirmed, IReadOnlyList<Track> Matched, IReadOnlyList<Track> Ended)
{
    public static readonly TrackerStep Empty = new([], [], []);
}

/// <summary>
/// Multi-object tracker of one camera, ByteTrack-style. Each frame:
/// <list type="number">
/// <item>confirmed tracks are matched to high-confidence detections by IoU with their predicted boxes;</item>
/// <item>the confirmed tracks left over are matched to low-confidence detections (a partly hidden object keeps its
/// track instead of flickering out);</item>
/// <item>tentative tracks are matched to the high-confidence detections left over; a tentative track that misses
/// a frame is dropped, so a one-frame false positive never gets confirmed;</item>
/// <item>high-confidence detections still unmatched start tentative tracks.</item>
/// </list>
/// Matching is greedy, highest IoU first, and only between the same label. A track is confirmed after
/// <see cref="SceneOptions.ConfirmHits"/> consecutive matches and ends when unseen for
/// <see cref="SceneOptions.LostAfter"/>. Time is the frames' capture time and never runs backwards. Not thread-safe:
/// one caller per camera.
/// </summary>
public sealed class Tracker
{
    private readonly List<Track> _tracks = [];
    private readonly SceneOptions _options;
    private readonly IReadOnlyList<Zone> _zones;
    private int _confirmedCount;
    private DateTimeOffset _now = DateTimeOffset.MinValue;

    public Tracker(string camera, SceneOptions options, IReadOnlyList<Zone> zones)
    {
        Camera = camera;
        _options = options;
        _zones = zones;
    }

    public string Camera { get; }

    /// <summary>Live tracks, tentative and confirmed.</summary>
    public IReadOnlyList<Track> Tracks => _tracks;

    /// <summary>Associates one frame's detections with the tracks, then ends tracks unseen for too long.</summary>
    public TrackerStep Update(IReadOnlyList<Detection> detections, DateTimeOffset capturedAt)
    {
        var at = Advance(capturedAt);
        List<Detection> high = [], low = [];
        foreach (var detection in detections)
        {
            if (detection.Confidence >= _options.HighConfidence) high.Add(detection);
            else if (detection.Confidence >= _options.LowConfidence) low.Add(detection);
        }
        List<Track> confirmed = [], tentative = [];
        foreach (var track in _tracks)
        {
            track.Predict(at);
            (track.IsConfirmed ? confirmed : tentative).Add(track);
        }

        List<Track> matched = [], newlyConfirmed = [];
        var leftTracks = Associate(confirmed, high, _options.MatchIoU, at, matched, out var leftHigh);
        Associate(leftTracks, low, _options.LowConfidenceMatchIoU, at, matched, out _);
        var missedTentative = Associate(tentative, leftHigh, _options.MatchIoU, at, matched: null, out var unmatched);

        foreach (var track in missedTentative) _tracks.Remove(track);
        foreach (var detection in unmatched) _tracks.Add(new Track(detection, at, _zones));
        foreach (var track in _tracks)
        {
            if (track.IsConfirmed || track.Hits < _options.ConfirmHits) continue;
            track.Confirm(NewId(track.FirstSeen));
            newlyConfirmed.Add(track);
        }
        return new TrackerStep(newlyConfirmed, matched, RemoveLost(at));
    }

    /// <summary>Ends tracks unseen for too long at <paramref name="now"/>, for a camera that stopped sending.</summary>
    public TrackerStep Expire(DateTimeOffset now)
    {
        var ended = RemoveLost(Advance(now));
        return ended.Count == 0 ? TrackerStep.Empty : new TrackerStep([], [], ended);
    }

    private DateTimeOffset Advance(DateTimeOffset at)
    {
        if (at > _now) _now = at;
        return _now;
    }

    /// <summary>
    /// Greedy IoU assignment: all same-label pairs above <paramref name="minIoU"/>, best first. For the sparse IoU
    /// matrices of a camera scene this nearly always equals the optimal (Hungarian) assignment, at a
    /// fraction of the code.
    /// </summary>
    /// <returns>The tracks left unmatched.</returns>
    private List<Track> Associate(List<Track> tracks, List<Detection> detections, float minIoU, DateTimeOffset at,
        List<Track>? matched, out List<Detection> leftDetections)
    {
        var pairs = new List<(float IoU, int Track, int Detection)>();
        for (var t = 0; t < tracks.Count; t++)
        {
            for (var d = 0; d < detections.Count; d++)
            {
                if (!string.Equals(tracks[t].Label, detections[d].Label, StringComparison.Ordinal)) continue;
                var iou = tracks[t].Predicted.IoU(detections[d].Box);
                if (iou >= minIoU) pairs.Add((iou, t, d));
            }
        }
        // Best IoU first; ties in input order so a run is reproducible.
        pairs.Sort(static (a, b) =>
            b.IoU != a.IoU ? b.IoU.CompareTo(a.IoU)
            : a.Track != b.Track ? a.Track.CompareTo(b.Track)
            : a.Detection.CompareTo(b.Detection));
        var trackUsed = new bool[tracks.Count];
        var detectionUsed = new bool[detections.Count];
        foreach (var (_, t, d) in pairs)
        {
            if (trackUsed[t] || detectionUsed[d]) continue;
            trackUsed[t] = detectionUsed[d] = true;
            tracks[t].Update(detections[d], at, _zones, _options);
            matched?.Add(tracks[t]);
        }
        leftDetections = [.. detections.Where((_, d) => !detectionUsed[d])];
        return [.. tracks.Where((_, t) => !trackUsed[t])];
    }

    private List<Track> RemoveLost(DateTimeOffset at)
    {
        var ended = new List<Track>();
        _tracks.RemoveAll(track =>
        {
            if (at - track.LastSeen <= _options.LostAfter) return false;
            if (track.IsConfirmed) ended.Add(track);
            return true;
        });
        return ended;
    }

    private string NewId(DateTimeOffset firstSeen) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Camera}-{firstSeen.UtcDateTime:yyyyMMddHHmmss}-{++_confirmedCount}");
}
