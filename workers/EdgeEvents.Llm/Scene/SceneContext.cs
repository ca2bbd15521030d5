using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Llm.Scene;

/// <summary>
/// What is known about one camera at one moment: its latest scene state and its last events, newest first.
/// </summary>
internal sealed record CameraSnapshot(string Camera, SceneState? State, IReadOnlyList<SceneEvent> Events)
{
    /// <summary>Counts per label: from the scene state, else from the newest event that carries counts.</summary>
    public IReadOnlyDictionary<string, int> Counts =>
        State is { } s
            ? CountsOf(s)
            : Events.FirstOrDefault(e => e.Counts is not null)?.Counts ?? new Dictionary<string, int>();

    /// <summary>When the facts were true: the frame time of the state, else of the newest event.</summary>
    public DateTimeOffset At =>
        State is { } s ? Time(s.Frame, s.CreatedAt)
        : Events.Count > 0 ? Time(Events[0].Frame, Events[0].CreatedAt)
        : default;

    public CameraFacts ToFacts() => new()
    {
        Camera = Camera,
        At = At,
        Counts = Counts,
        Objects = State?.Objects ?? [],
        EventIds = Events.Select(e => e.Id).ToList(),
    };

    private static IReadOnlyDictionary<string, int> CountsOf(SceneState state) =>
        state.Counts.Count > 0 || state.Objects.Count == 0
            ? state.Counts
            : state.Objects.GroupBy(o => o.Label).ToDictionary(g => g.Key, g => g.Count());

    private static DateTimeOffset Time(FrameRef frame, DateTimeOffset created) =>
        frame.CapturedAt != default ? frame.CapturedAt : created;
}

/// <summary>
/// The scene as the LLM worker knows it, per camera: the latest <see cref="SceneState"/> (retained on
/// <c>{prefix}/scene/{camera}</c>) and the last N <see cref="SceneEvent"/>s (<c>{prefix}/events/{camera}</c>),
/// de-duplicated by event id. Thread-safe.
/// </summary>
internal sealed class SceneContext(int recentEvents)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CameraEntry> _cameras = new(StringComparer.Ordinal);

    /// <summary>
    /// Keeps the state unless an older one arrives late (retained messages can be replayed after newer ones).
    /// </summary>
    public void Apply(SceneState state)
    {
        lock (_lock)
        {
            var entry = Entry(state.Camera);
            if (entry.State is { } current && current.CreatedAt > state.CreatedAt) return;
            entry.State = state;
        }
    }

    /// <summary>Adds an event; false when its id was seen before (a redelivery).</summary>
    public bool Apply(SceneEvent sceneEvent)
    {
        lock (_lock)
        {
            var entry = Entry(sceneEvent.Camera);
            if (!entry.SeenEventIds.Add(sceneEvent.Id)) return false;
            entry.Events.AddFirst(sceneEvent);
            while (entry.Events.Count > recentEvents) entry.Events.RemoveLast();
            return true;
        }
    }

    /// <summary>Forgets a camera's state (its retained scene topic was cleared).</summary>
    public void ClearState(string camera)
    {
        lock (_lock)
            if (_cameras.TryGetValue(camera, out var entry)) entry.State = null;
    }

    public IReadOnlyList<string> Cameras
    {
        get { lock (_lock) return _cameras.Keys.Order(StringComparer.Ordinal).ToList(); }
    }

    /// <summary>All cameras (ordered by name), or just <paramref name="camera"/> (empty if unknown).</summary>
    public IReadOnlyList<CameraSnapshot> Snapshot(string? camera = null)
    {
        lock (_lock)
        {
            return _cameras
                .Where(c => camera is null || c.Key == camera)
                .Where(c => c.Value.State is not null || c.Value.Events.Count > 0)
                .OrderBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => new CameraSnapshot(c.Key, c.Value.State, c.Value.Events.ToList()))
                .ToList();
        }
    }

    private CameraEntry Entry(string camera)
    {
        if (!_cameras.TryGetValue(camera, out var entry))
            _cameras[camera] = entry = new CameraEntry(new RecentIds(Math.Max(64, recentEvents * 4)));
        return entry;
    }

    private sealed class CameraEntry(RecentIds seen)
    {
        public SceneState? State { get; set; }
        public LinkedList<SceneEvent> Events { get; } = new();
        // Remembers more ids than events kept, so a late redelivery of an evicted event is still recognised.
        public RecentIds SeenEventIds { get; } = seen;
    }
}
