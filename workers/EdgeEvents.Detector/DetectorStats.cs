using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;

namespace EdgeEvents.Detector;

/// <summary>Why the detector let a frame go unprocessed.</summary>
public static class DropReasons
{
    /// <summary>A newer frame of the same camera arrived while this one waited (latest frame wins).</summary>
    public const string Superseded = "superseded";
    /// <summary>The frame waited longer than <c>MaxFrameAge</c>.</summary>
    public const string Stale = "stale";
    /// <summary>Too many cameras had a frame waiting (<c>MaxWaitingCameras</c>).</summary>
    public const string TooManyCameras = "too_many_cameras";
}

/// <summary>
/// The detector's counters, both on the <c>EdgeEvents</c> meter (for exporters) and in-process (for stats and tests).
/// Drops are counted per camera and reason.
/// </summary>
public sealed class DetectorStats
{
    private static readonly Counter<long> DroppedCounter = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.detector.frames.dropped", unit: "{frame}",
        description: "Frames the detector did not process, by camera and reason.");
    private static readonly Counter<long> ProcessedCounter = EdgeTelemetry.Meter.CreateCounter<long>(
        "edge.detector.frames.processed", unit: "{frame}", description: "Frames run through the model, by camera.");
    private static readonly Histogram<double> StageDuration = EdgeTelemetry.Meter.CreateHistogram<double>(
        "edge.detector.stage.duration", unit: "ms",
        description: "Time per frame in each detector stage " +
            "(queue, decode, letterbox, inference, postprocess, publish, snapshot).");

    private static readonly Histogram<int> BatchSize = EdgeTelemetry.Meter.CreateHistogram<int>(
        "edge.detector.batch.size", unit: "{frame}", description: "Frames per inference run.");

    private readonly ConcurrentDictionary<(string Camera, string Reason), long> _drops = new();
    private readonly string _component;

    /// <param name="component">Component name on the shared <c>edge.frames.*</c> counters.</param>
    public DetectorStats(string component = "detector") => _component = component;
    private long _processed;
    private long _published;
    private long _snapshots;
    private long _snapshotDecodes;
    private int _largestBatch;

    public long Processed => Interlocked.Read(ref _processed);
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Annotated snapshots published.</summary>
    public long Snapshots => Interlocked.Read(ref _snapshots);

    /// <summary>
    /// Snapshots that decoded their frame again because the pipeline had not kept its pixels (or kept them smaller).
    /// </summary>
    public long SnapshotDecodes => Interlocked.Read(ref _snapshotDecodes);

    /// <summary>The most frames run in one inference so far.</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <summary>Dropped frames of one camera for one reason.</summary>
    public long Dropped(string camera, string reason) => _drops.TryGetValue((camera, reason), out var n) ? n : 0;

    /// <summary>All drops so far, by camera and reason.</summary>
    public IReadOnlyDictionary<(string Camera, string Reason), long> Drops =>
        new Dictionary<(string, string), long>(_drops);

    public long TotalDropped => _drops.Values.Sum();

    internal void RecordDrop(string camera, string reason)
    {
        _drops.AddOrUpdate((camera, reason), 1, static (_, n) => n + 1);
        DroppedCounter.Add(1,
            new KeyValuePair<string, object?>("camera", camera), new KeyValuePair<string, object?>("reason", reason));
        EdgeTelemetry.FrameDropped(_component, camera, reason);
    }

    internal void RecordProcessed(string camera)
    {
        Interlocked.Increment(ref _processed);
        ProcessedCounter.Add(1, new KeyValuePair<string, object?>("camera", camera));
        EdgeTelemetry.FrameProcessed(_component, camera);
    }

    internal void RecordPublished() => Interlocked.Increment(ref _published);

    internal void RecordSnapshot(bool decodedAgain)
    {
        Interlocked.Increment(ref _snapshots);
        if (decodedAgain) Interlocked.Increment(ref _snapshotDecodes);
    }

    internal void RecordBatch(int size)
    {
        BatchSize.Record(size);
        int largest;
        while (size > (largest = Volatile.Read(ref _largestBatch))
            && Interlocked.CompareExchange(ref _largestBatch, size, largest) != largest) { }
    }

    internal static void RecordStage(string stage, double milliseconds) =>
        StageDuration.Record(milliseconds, new KeyValuePair<string, object?>("stage", stage));
}
