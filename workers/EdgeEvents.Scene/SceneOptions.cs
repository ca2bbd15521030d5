using System.ComponentModel.DataAnnotations;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Scene.Tracking;

namespace EdgeEvents.Scene;

/// <summary>Scene worker settings. Bound from configuration section <c>Scene</c>; unknown keys fail at start.</summary>
public sealed record SceneOptions : IValidatableObject
{
    public const string Section = "Scene";

    public static SceneOptions Default { get; } = new();

    // Which cameras this worker owns.

    /// <summary>
    /// Only these cameras (subscribed one topic each). Default empty: every camera on <c>{prefix}/detections/+</c>.
    /// </summary>
    public string[] Cameras { get; init; } = [];

    /// <summary>
    /// <c>i/n</c> (see <see cref="CameraPartition"/>): own the cameras whose stable hash modulo <c>n</c> is <c>i</c>,
    /// so <c>n</c> workers split the cameras and each camera stays on exactly one (tracking needs that affinity).
    /// Default <c>0/1</c>.
    /// </summary>
    public string Partition { get; init; } = "0/1";

    // Association (ByteTrack-style).

    /// <summary>Detections at or above this confidence are matched first and may start tracks. Default 0.5.</summary>
    [Range(0.0, 1.0)] public float HighConfidence { get; init; } = 0.5f;

    /// <summary>
    /// Detections below <see cref="HighConfidence"/> but at or above this only keep existing tracks alive; lower ones
    /// are ignored. Default 0.1.
    /// </summary>
    [Range(0.0, 1.0)] public float LowConfidence { get; init; } = 0.1f;

    /// <summary>
    /// Smallest IoU between a track's predicted box and a high-confidence detection that counts as a match.
    /// Default 0.2.
    /// </summary>
    [Range(0.01, 1.0)] public float MatchIoU { get; init; } = 0.2f;

    /// <summary>
    /// Smallest IoU for a low-confidence detection; stricter, since weak detections are often noise. Default 0.5.
    /// </summary>
    [Range(0.01, 1.0)] public float LowConfidenceMatchIoU { get; init; } = 0.5f;

    // Track life.

    /// <summary>
    /// Consecutive matched frames before a track is confirmed and announced with <c>new</c>. Default 3.
    /// </summary>
    [Range(1, 100)] public int ConfirmHits { get; init; } = 3;

    /// <summary>
    /// A confirmed track unseen this long (capture time) ends. Default 3 s: rides out short occlusions and a few
    /// dropped frames at the 2–5 detections/s a camera typically gets, yet an object that left ends promptly.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan LostAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A track is stationary once its box centre stays within this many pixels for <see cref="StationaryAfter"/>.
    /// Default 10 px.
    /// </summary>
    [Range(0.0, 10_000.0)] public float StationaryDistance { get; init; } = 10f;

    /// <summary>See <see cref="StationaryDistance"/>. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan StationaryAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// An <c>update</c> with change <c>confidence</c> is raised when the top confidence beats the last announced one by
    /// this much. Default 0.1.
    /// </summary>
    [Range(0.01, 1.0)] public float ConfidenceMargin { get; init; } = 0.1f;

    /// <summary>
    /// Named polygons per camera, in source-image pixels, as Frigate writes them: <c>"x1,y1,x2,y2,x3,y3,…"</c>.
    /// An object is in a zone when its box's bottom-centre is. Example:
    /// <c>{"cam1": {"door": "400,0,640,0,640,480,400,480"}}</c>. Default none.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> Zones { get; init; } = [];

    // Publishing and input checks.

    /// <summary>
    /// Least time between two publishes of one camera's retained scene; the latest state always follows.
    /// Default 500 ms (2/s).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan PublishInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A capture time further than this from the earlier of the detector's creation time and the receive time is
    /// replaced by that time and reported as <c>clock_skew</c>. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromSeconds(10);

    // In-memory history.

    /// <summary>Events kept per camera in <see cref="SceneHistory"/>. Default 200.</summary>
    [Range(0, 100_000)] public int HistoryEvents { get; init; } = 200;

    /// <summary>Snapshots of the scene kept per camera in <see cref="SceneHistory"/>. Default 60.</summary>
    [Range(0, 100_000)] public int HistorySnapshots { get; init; } = 60;

    /// <summary>Time between two history snapshots of a camera. Default 1 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The zones configured for one camera (none if it has no entry).</summary>
    public IReadOnlyList<Zone> ZonesFor(string camera) =>
        Zones.TryGetValue(camera, out var zones)
            ? zones.Select(z => Zone.Parse(z.Key, z.Value)).ToList()
            : [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LowConfidence > HighConfidence)
            yield return new ValidationResult(
                $"LowConfidence ({LowConfidence}) must not exceed HighConfidence ({HighConfidence}).",
                [nameof(LowConfidence)]);
        if (!CameraPartition.TryParse(Partition, out _))
            yield return new ValidationResult(CameraPartition.FormatError(Partition), [nameof(Partition)]);
        foreach (var camera in Cameras.Concat(Zones.Keys).Where(c => !TopicScheme.IsValidName(c)))
            yield return new ValidationResult(
                $"Camera '{camera}' is not a valid camera id (letters, digits, '-' and '_').", [nameof(Cameras)]);
        foreach (var (camera, zones) in Zones)
        {
            foreach (var (name, points) in zones)
            {
                string? error = null;
                try { Zone.Parse(name, points); }
                catch (FormatException ex) { error = ex.Message; }
                if (error is not null)
                    yield return new ValidationResult($"Zone '{name}' of camera '{camera}': {error}", [nameof(Zones)]);
            }
        }
    }

    /// <summary>The parsed <see cref="Partition"/>.</summary>
    /// <exception cref="FormatException">Not a valid partition (validation at start reports it first).</exception>
    public CameraPartition ParsePartition() => CameraPartition.Parse(Partition);
}
