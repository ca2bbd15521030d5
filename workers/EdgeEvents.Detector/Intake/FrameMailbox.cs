using System.Diagnostics;
using System.Threading.Channels;
using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Intake;

/// <summary>
/// A parsed frame waiting for a pipeline, with where and when it arrived and the trace context of its receive span
/// (the frame's trace continues in the detect span that publishes its detections).
/// </summary>
public sealed record PendingFrame(
    Frame Frame, string Topic, int PayloadBytes, DateTimeOffset ReceivedAt, ActivityContext Trace = default);

/// <summary>
/// Holds at most one waiting frame per camera: a newer frame replaces the waiting one (latest frame wins; the replaced
/// one is counted as superseded). Cameras are served in the order their first waiting frame arrived, so a fast camera
/// cannot starve a slow one. Memory is bounded by <c>MaxWaitingCameras</c> frames.
/// </summary>
public sealed class FrameMailbox
{
    private readonly object _lock = new();
    private readonly Dictionary<string, PendingFrame> _waiting = new(StringComparer.Ordinal);
    // One token per camera with a waiting frame; written under the lock when a camera starts waiting.
    private readonly Channel<string> _ready =
        Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly int _maxWaitingCameras;
    private readonly DetectorStats _stats;

    public FrameMailbox(int maxWaitingCameras, DetectorStats stats)
    {
        _maxWaitingCameras = maxWaitingCameras;
        _stats = stats;
    }

    /// <summary>Frames waiting now (at most one per camera).</summary>
    public int Count
    {
        get { lock (_lock) return _waiting.Count; }
    }

    /// <summary>Adds a frame; returns false when it was dropped because too many cameras are waiting.</summary>
    public bool Offer(PendingFrame frame)
    {
        var camera = frame.Frame.Camera;
        lock (_lock)
        {
            if (_waiting.ContainsKey(camera))
            {
                _waiting[camera] = frame;
                _stats.RecordDrop(camera, DropReasons.Superseded);
                return true;
            }
            if (_waiting.Count >= _maxWaitingCameras)
            {
                _stats.RecordDrop(camera, DropReasons.TooManyCameras);
                return false;
            }
            _waiting[camera] = frame;
            _ready.Writer.TryWrite(camera);
            return true;
        }
    }

    /// <summary>Waits for the next camera's newest frame.</summary>
    public async ValueTask<PendingFrame> TakeAsync(CancellationToken ct)
    {
        while (true)
        {
            var camera = await _ready.Reader.ReadAsync(ct);
            if (Remove(camera) is { } frame) return frame;
        }
    }

    /// <summary>Takes the next waiting frame without waiting.</summary>
    public bool TryTake(out PendingFrame frame)
    {
        while (_ready.Reader.TryRead(out var camera))
        {
            if (Remove(camera) is { } f)
            {
                frame = f;
                return true;
            }
        }
        frame = null!;
        return false;
    }

    private PendingFrame? Remove(string camera)
    {
        lock (_lock) return _waiting.Remove(camera, out var frame) ? frame : null;
    }
}
