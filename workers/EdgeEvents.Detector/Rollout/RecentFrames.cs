using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Rollout;

/// <summary>
/// The last processed frames (a fixed-size ring), what the gate runs a candidate model on. Thread-safe.
/// </summary>
public sealed class RecentFrames(int capacity)
{
    private readonly Frame[] _frames = new Frame[capacity];
    private readonly object _lock = new();
    private int _next;
    private int _count;

    public int Count
    {
        get { lock (_lock) return _count; }
    }

    public void Add(Frame frame)
    {
        lock (_lock)
        {
            _frames[_next] = frame;
            _next = (_next + 1) % _frames.Length;
            _count = Math.Min(_count + 1, _frames.Length);
        }
    }

    public IReadOnlyList<Frame> Snapshot()
    {
        lock (_lock) return _frames.Take(_count).ToList();
    }

    /// <summary>
    /// Waits until the ring is full or <paramref name="timeout"/> passes; returns the frames there are.
    /// </summary>
    public async Task<IReadOnlyList<Frame>> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < _frames.Length && DateTime.UtcNow < deadline) await Task.Delay(50, ct);
        return Snapshot();
    }
}
