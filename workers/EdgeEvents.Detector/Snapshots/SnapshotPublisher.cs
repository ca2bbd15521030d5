using System.Diagnostics;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Detector.Snapshots;

/// <summary>
/// The snapshot stage, off the detection path: <see cref="Offer"/> (called per processed frame) only checks a
/// per-camera due time and, at most once per interval per camera, parks the frame and its detections (latest wins
/// while one waits); its own loop draws them with <see cref="SnapshotRenderer"/> and publishes the JPEG, retained, on
/// <c>{prefix}/snapshots/{camera}</c>. The pipeline asks <see cref="IsDue"/> before decoding a frame, so a due frame
/// arrives with its decoded pixels and is not decoded twice. Holds at most one frame per camera. Failures are
/// reported, never thrown.
/// </summary>
internal sealed class SnapshotPublisher
{
    // Bounds the due-time table against floods of made-up camera names; a reset only lets one early snapshot through.
    private const int MaxTrackedCameras = 4096;

    private readonly EdgeComponent _component;
    private readonly DetectorStats _stats;
    private readonly SnapshotRenderer _renderer;
    private readonly long _intervalTicks;
    private readonly long _lookaheadTicks;
    private readonly object _lock = new();
    private readonly Dictionary<string, long> _due = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DetectionSet Set, Frame Frame, DecodedImage? Decoded)> _waiting =
        new(StringComparer.Ordinal);
    // One token per camera with a snapshot waiting; written under the lock when a camera starts waiting.
    private readonly Channel<string> _ready =
        Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public SnapshotPublisher(DetectorOptions options, EdgeComponent component, DetectorStats stats)
    {
        _component = component;
        _stats = stats;
        _renderer = new SnapshotRenderer(options.SnapshotQuality, options.SnapshotMaxWidth);
        _intervalTicks = (long)(Stopwatch.Frequency / options.SnapshotsPerSecond);
        _lookaheadTicks = Math.Min(_intervalTicks / 4, Stopwatch.Frequency * 3 / 20);
    }

    /// <summary>
    /// Whether a frame of <paramref name="camera"/> being prepared now may be taken when it is offered: due, or due
    /// within a quarter of the interval (at most 150 ms, about two model runs on a CPU), the time a frame can spend
    /// between decode and offer. A hint only: a frame taken without its pixels is decoded again.
    /// </summary>
    public bool IsDue(string camera)
    {
        var soon = Stopwatch.GetTimestamp() + _lookaheadTicks;
        lock (_lock) return !_due.TryGetValue(camera, out var due) || soon >= due;
    }

    /// <summary>
    /// Takes the frame for its camera's next snapshot if one is due; cheap enough to call for every frame.
    /// <paramref name="decoded"/>, when given, are the frame's pixels as the pipeline decoded them.
    /// </summary>
    public void Offer(DetectionSet set, Frame frame, DecodedImage? decoded = null)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (_due.TryGetValue(set.Camera, out var due) && now < due)
            {
                decoded?.Release();
                return;
            }
            if (_due.Count >= MaxTrackedCameras) _due.Clear();
            _due[set.Camera] = now + _intervalTicks;
            var waiting = _waiting.Remove(set.Camera, out var replaced);
            replaced.Decoded?.Release();
            _waiting[set.Camera] = (set, frame, decoded);
            if (!waiting) _ready.Writer.TryWrite(set.Camera);
        }
    }

    /// <summary>Draws and publishes waiting snapshots until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var camera in _ready.Reader.ReadAllAsync(ct))
            {
                (DetectionSet Set, Frame Frame, DecodedImage? Decoded) next;
                lock (_lock)
                {
                    if (!_waiting.Remove(camera, out next)) continue;
                }
                await PublishAsync(next.Set, next.Frame, next.Decoded, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task PublishAsync(DetectionSet set, Frame frame, DecodedImage? decoded, CancellationToken ct)
    {
        var topic = _component.Topics.Snapshots(set.Camera);
        try
        {
            var start = Stopwatch.GetTimestamp();
            byte[] jpeg;
            bool decodedAgain;
            try
            {
                jpeg = _renderer.Render(frame, set, decoded, out decodedAgain);
            }
            finally
            {
                decoded?.Release();
            }
            DetectorStats.RecordStage("snapshot", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await _component.Transport.PublishAsync(new OutgoingMessage(topic, jpeg)
            {
                ContentType = ContentTypes.Jpeg,
                Delivery = Delivery.AtMostOnce,
                Retain = true,
            }, ct);
            _stats.RecordSnapshot(decodedAgain);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _component.Errors.Report(ErrorKinds.Internal,
                $"Snapshot of frame {frame.Sequence} of '{set.Camera}' failed: {ex.Message}", topic, frame.Data.Length,
                set.Camera);
        }
    }
}
