using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Fleet;

/// <summary>
/// What the hub knows about one site, and the decision of its state. Pure: the caller supplies the clock, so the
/// rules (link down or silent for the timeout → offline; a component offline → degraded) are tested without a
/// broker.
/// </summary>
internal sealed class SiteTracker
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly SortedDictionary<string, bool> _components = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SiteCamera> _cameras = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, ModelStatus> _models = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _events = new();
    private readonly Queue<DateTimeOffset> _errors = new();
    private bool? _linkUp;
    private DateTimeOffset? _lastMessageAt;
    private string _state = SiteStates.Offline;
    private DateTimeOffset _since;
    private SiteStatus? _published;
    private DateTimeOffset _publishedAt;

    public SiteTracker(string site, DateTimeOffset now)
    {
        Site = site;
        _since = now;
    }

    public string Site { get; }

    /// <summary>
    /// Something arrived from the site. A retained message replayed on subscribe is old news: it is not a sign of life.
    /// </summary>
    public void Heard(DateTimeOffset now, bool retained)
    {
        if (!retained) _lastMessageAt = now;
    }

    public void Link(bool up) => _linkUp = up;

    public void Component(string component, bool online) => _components[component] = online;

    public void Camera(string camera, IReadOnlyDictionary<string, int> counts, DateTimeOffset at) =>
        _cameras[camera] = new SiteCamera { Camera = camera, Counts = counts, UpdatedAt = at };

    public void Model(string detector, ModelStatus status) => _models[detector] = status;

    public void Event(DateTimeOffset now) => _events.Enqueue(now);

    public void Error(DateTimeOffset now) => _errors.Enqueue(now);

    /// <summary>The site's status at <paramref name="now"/>.</summary>
    public SiteStatus Evaluate(DateTimeOffset now, TimeSpan siteTimeout)
    {
        Trim(_events, now);
        Trim(_errors, now);
        var silent = _lastMessageAt is null || now - _lastMessageAt >= siteTimeout;
        var state = _linkUp == false || silent ? SiteStates.Offline
            : _components.ContainsValue(false) ? SiteStates.Degraded
            : SiteStates.Online;
        if (state != _state)
        {
            _state = state;
            _since = now;
        }
        return new SiteStatus
        {
            CreatedAt = now,
            Site = Site,
            State = _state,
            Since = _since,
            LastMessageAt = _lastMessageAt,
            Link = _linkUp switch { true => LinkStates.Up, false => LinkStates.Down, null => null },
            Components = new SiteComponents
            {
                Online = [.. _components.Where(c => c.Value).Select(c => c.Key)],
                Offline = [.. _components.Where(c => !c.Value).Select(c => c.Key)],
            },
            Cameras = [.. _cameras.Values],
            EventsLastMinute = _events.Count,
            ErrorsLastMinute = _errors.Count,
            Models = new SortedDictionary<string, ModelStatus>(_models, StringComparer.Ordinal),
        };
    }

    /// <summary>
    /// Whether <paramref name="status"/> should be published: always the first time and when state, link, components or
    /// a detector's model state changed; when only figures changed, once <paramref name="publishInterval"/> has passed
    /// since the last publish.
    /// </summary>
    public bool ShouldPublish(SiteStatus status, DateTimeOffset now, TimeSpan publishInterval)
    {
        var last = _published;
        if (last is not null && !Significant(last, status)
            && (now - _publishedAt < publishInterval || SameFigures(last, status))) return false;
        _published = status;
        _publishedAt = now;
        return true;
    }

    private static bool Significant(SiteStatus a, SiteStatus b) =>
        a.State != b.State || a.Link != b.Link
        || !a.Components.Online.SequenceEqual(b.Components.Online)
        || !a.Components.Offline.SequenceEqual(b.Components.Offline)
        || !a.Models.SequenceEqual(b.Models);

    private static bool SameFigures(SiteStatus a, SiteStatus b) =>
        a.LastMessageAt == b.LastMessageAt && a.EventsLastMinute == b.EventsLastMinute
        && a.ErrorsLastMinute == b.ErrorsLastMinute
        && a.Cameras.Count == b.Cameras.Count
        && a.Cameras.Zip(b.Cameras)
            .All(p => p.First.Camera == p.Second.Camera && p.First.UpdatedAt == p.Second.UpdatedAt);

    private static void Trim(Queue<DateTimeOffset> times, DateTimeOffset now)
    {
        while (times.TryPeek(out var t) && now - t >= Window) times.Dequeue();
    }
}
