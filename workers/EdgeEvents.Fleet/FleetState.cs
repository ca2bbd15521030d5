using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Fleet;

/// <summary>
/// Every site the hub has heard of, fed with the sites' messages as they appear at the hub (<c>sites/{site}/...</c>).
/// Pure: the clock is the caller's. Not thread-safe: the worker feeds and evaluates it from one loop.
/// </summary>
internal sealed class FleetState(FleetTopics topics, FleetOptions options)
{
    private readonly SortedDictionary<string, SiteTracker> _sites = new(StringComparer.Ordinal);

    /// <summary>Starts tracking the expected sites, so they are listed as offline before they are heard.</summary>
    public void Expect(IEnumerable<string> sites, DateTimeOffset now)
    {
        foreach (var site in sites) Tracker(site, now);
    }

    /// <summary>Applies one message from a site. Topics the fleet does not track are ignored.</summary>
    /// <exception cref="MessageFormatException">
    /// A payload the fleet reads (link, status, model status, scene) is malformed; the site still counts as heard.
    /// </exception>
    public void Observe(
        string hubTopic, ReadOnlyMemory<byte> payload, string? contentType, bool retained, DateTimeOffset now)
    {
        if (FleetTopics.FromHub(hubTopic) is not var (site, local)) return;
        var tracker = Tracker(site, now);
        tracker.Heard(now, retained);
        if (local == "link")
        {
            tracker.Link(Text(payload) switch
            {
                LinkPayloads.Up => true,
                LinkPayloads.Down => false,
                var other => throw new MessageFormatException(
                    $"Link state of site '{site}' is '{other}'; " +
                    $"expected '{LinkPayloads.Up}' or '{LinkPayloads.Down}'."),
            });
            return;
        }
        if (topics.Local.DetectorOfModel(local) is { } detector)
        {
            tracker.Model(detector, MessageCodec.Deserialize<ModelStatus>(payload, contentType).Validated());
            return;
        }
        var (kind, name) = topics.Local.Parse(local);
        if (name is null) return;
        switch (kind)
        {
            case TopicKind.Status:
                tracker.Component(name, Text(payload) switch
                {
                    StatusPayloads.Online => true,
                    StatusPayloads.Offline => false,
                    var other => throw new MessageFormatException(
                        $"Status of component '{name}' at site '{site}' is '{other}'; expected online or offline."),
                });
                break;
            case TopicKind.Scene:
                var scene = MessageCodec.Deserialize<SceneState>(payload, contentType);
                tracker.Camera(name, scene.Counts, scene.CreatedAt);
                break;
            case TopicKind.Events when !retained:
                tracker.Event(now);
                break;
            case TopicKind.Errors when !retained:
                tracker.Error(now);
                break;
        }
    }

    /// <summary>
    /// Evaluates every site at <paramref name="now"/>: the statuses worth publishing now, and the fleet summary when
    /// any of them is (null otherwise).
    /// </summary>
    public (IReadOnlyList<SiteStatus> Changed, FleetSummary? Summary) Evaluate(DateTimeOffset now)
    {
        var all = _sites.Values.Select(t => (Tracker: t, Status: t.Evaluate(now, options.SiteTimeout))).ToList();
        var changed = all.Where(s => s.Tracker.ShouldPublish(s.Status, now, options.PublishInterval))
            .Select(s => s.Status).ToList();
        if (changed.Count == 0) return (changed, null);
        var statuses = all.Select(s => s.Status).ToList();
        return (changed, new FleetSummary
        {
            CreatedAt = now,
            Online = statuses.Count(s => s.State == SiteStates.Online),
            Offline = statuses.Count(s => s.State == SiteStates.Offline),
            Degraded = statuses.Count(s => s.State == SiteStates.Degraded),
            Sites = [.. statuses.Select(s => new FleetSite { Site = s.Site, State = s.State, Since = s.Since })],
        });
    }

    /// <summary>
    /// One site's status at <paramref name="now"/> (null if never heard of), whether or not it is due for publishing.
    /// </summary>
    public SiteStatus? Status(string site, DateTimeOffset now) =>
        _sites.TryGetValue(site, out var tracker) ? tracker.Evaluate(now, options.SiteTimeout) : null;

    private SiteTracker Tracker(string site, DateTimeOffset now)
    {
        if (!_sites.TryGetValue(site, out var tracker)) _sites[site] = tracker = new SiteTracker(site, now);
        return tracker;
    }

    private static string Text(ReadOnlyMemory<byte> payload) => Encoding.UTF8.GetString(payload.Span).Trim();
}
