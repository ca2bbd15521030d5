using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Scene;

/// <summary>
/// The recent past of each camera, in memory: the last <see cref="SceneOptions.HistoryEvents"/> events and a
/// snapshot of the scene every <see cref="SceneOptions.SnapshotInterval"/> (the last
/// <see cref="SceneOptions.HistorySnapshots"/> kept). Thread-safe.
/// <para>
/// Other processes (the LLM worker) rebuild the same view from the topics alone: subscribe
/// <c>{prefix}/scene/+</c> (retained, so the present arrives at once) and <c>{prefix}/events/+</c> at QoS 1 with a
/// persistent session (so nothing is missed while offline), keep the last N events per camera de-duplicated by
/// event id, and keep a received scene as a snapshot whenever the previous one kept is older than the interval.
/// </para>
/// </summary>
public sealed class SceneHistory(SceneOptions options)
{
    private readonly Dictionary<string, Camera> _cameras = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void AddEvent(SceneEvent sceneEvent)
    {
        lock (_lock) Add(For(sceneEvent.Camera).Events, sceneEvent, options.HistoryEvents);
    }

    public void AddSnapshot(SceneState state)
    {
        lock (_lock) Add(For(state.Camera).Snapshots, state, options.HistorySnapshots);
    }

    /// <summary>The camera's kept events, oldest first.</summary>
    public IReadOnlyList<SceneEvent> Events(string camera)
    {
        lock (_lock) return _cameras.TryGetValue(camera, out var c) ? [.. c.Events] : [];
    }

    /// <summary>The camera's kept snapshots, oldest first.</summary>
    public IReadOnlyList<SceneState> Snapshots(string camera)
    {
        lock (_lock) return _cameras.TryGetValue(camera, out var c) ? [.. c.Snapshots] : [];
    }

    private Camera For(string camera)
    {
        if (!_cameras.TryGetValue(camera, out var c)) _cameras[camera] = c = new Camera();
        return c;
    }

    private static void Add<T>(Queue<T> queue, T item, int capacity)
    {
        if (capacity == 0) return;
        if (queue.Count == capacity) queue.Dequeue();
        queue.Enqueue(item);
    }

    private sealed class Camera
    {
        public Queue<SceneEvent> Events { get; } = new();
        public Queue<SceneState> Snapshots { get; } = new();
    }
}
