using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// The scene events one observer received (every copy, before de-duplication), keyed by site: at a site the
/// observer's own site, at the hub the site named in the topic (<c>sites/{site}/...</c>).
/// </summary>
internal sealed class EventLedger : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, List<SceneEvent>> _copies = [];
    private readonly Dictionary<string, HashSet<string>> _unique = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    /// <param name="site">The site of every event (an observer at a site); null to take it from the hub topic.</param>
    public EventLedger(IMessageSubscription subscription, string? site) =>
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in subscription.Messages.ReadAllAsync(_stop.Token))
                {
                    var from = site ?? FleetTopics.FromHub(message.Topic)?.Site ?? throw new InvalidOperationException($"No site in '{message.Topic}'.");
                    Add(from, MessageCodec.Deserialize<SceneEvent>(message.Payload, message.ContentType));
                }
            }
            catch (OperationCanceledException) { }
        });

    /// <summary>Every copy of every site's events at the hub (no de-duplication: the copies are counted).</summary>
    public static async Task<EventLedger> AtHubAsync(IMessageTransport hub) =>
        new(await hub.SubscribeAsync(new SubscriptionRequest(new FleetTopics().AllSitesOf(TopicKind.Events)) { Deduplicate = false, Capacity = 100_000 }, default), site: null);

    /// <summary>The events a local subscriber at <paramref name="site"/> sees (de-duplicated, as a worker would).</summary>
    public static async Task<EventLedger> AtSiteAsync(IMessageTransport local, string site) =>
        new(await local.SubscribeAsync(new SubscriptionRequest(new TopicScheme().AllOf(TopicKind.Events)) { Capacity = 100_000 }, default), site);

    private void Add(string site, SceneEvent e)
    {
        lock (_gate)
        {
            if (!_copies.TryGetValue(site, out var list)) { _copies[site] = list = []; _unique[site] = []; }
            list.Add(e);
            _unique[site].Add(e.Id);
        }
    }

    /// <summary>Distinct event ids received from <paramref name="site"/>.</summary>
    public HashSet<string> Ids(string site)
    {
        lock (_gate) return _unique.TryGetValue(site, out var ids) ? [.. ids] : [];
    }

    /// <summary>Every copy received from <paramref name="site"/>, in arrival order.</summary>
    public List<SceneEvent> Copies(string site)
    {
        lock (_gate) return _copies.TryGetValue(site, out var list) ? [.. list] : [];
    }

    /// <summary>Waits until <paramref name="condition"/> holds; the time it took.</summary>
    public async Task<TimeSpan> WaitUntilAsync(Func<EventLedger, bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition(this))
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"Not within {timeout.TotalSeconds:0} s: {what}.");
            await Task.Delay(100);
        }
        return clock.Elapsed;
    }

    /// <summary>Events the site's observer saw that have not reached the hub yet.</summary>
    public static int Backlog(string site, EventLedger atSite, EventLedger atHub) => atSite.Ids(site).Except(atHub.Ids(site)).Count();

    /// <summary>Waits until the hub holds every event the site's observer has seen so far; the time it took.</summary>
    public static Task<TimeSpan> CaughtUpAsync(string site, EventLedger atSite, EventLedger atHub, TimeSpan timeout)
    {
        var seen = atSite.Ids(site);
        return atHub.WaitUntilAsync(l => seen.IsSubsetOf(l.Ids(site)), timeout, $"the {seen.Count} events {site} saw, at the hub");
    }

    /// <summary>
    /// Checks that every event the site's observer saw reached the hub exactly once after de-duplication, each camera's
    /// events in the site's order, and returns the figures.
    /// </summary>
    public static FleetFigures Compare(string site, EventLedger atSite, EventLedger atHub)
    {
        var local = Distinct(atSite.Copies(site));
        var copies = atHub.Copies(site);
        var delivered = Distinct(copies);
        var deliveredIds = delivered.Select(e => e.Id).ToHashSet();
        var lost = local.Where(e => !deliveredIds.Contains(e.Id)).ToList();
        foreach (var camera in local.Select(e => e.Camera).Distinct())
        {
            // Order is judged on what arrived; what did not is counted as lost, below.
            var localIds = local.Where(e => e.Camera == camera && deliveredIds.Contains(e.Id)).Select(e => e.Id).ToList();
            var hubIds = delivered.Where(e => e.Camera == camera).Select(e => e.Id).Where(localIds.Contains).ToList();
            Xunit.Assert.True(localIds.SequenceEqual(hubIds), $"Site {site}, camera {camera}: the hub's order differs from the site's.");
        }
        return new FleetFigures(local.Count, delivered.Count, copies.Count - delivered.Count, lost.Count);
    }

    private static List<SceneEvent> Distinct(IEnumerable<SceneEvent> events)
    {
        var seen = new HashSet<string>();
        return [.. events.Where(e => seen.Add(e.Id))];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _stop.Dispose();
    }
}

/// <summary>What a link test prints: events produced at the site, delivered to the hub (distinct), extra copies the hub suppressed, lost.</summary>
internal sealed record FleetFigures(int Produced, int Delivered, int DuplicatesSuppressed, int Lost)
{
    public override string ToString() => $"produced {Produced}, delivered {Delivered}, duplicates suppressed {DuplicatesSuppressed}, lost {Lost}";
}
