namespace EdgeEvents.Contracts.Topics;

/// <summary>
/// Topic names at the hub, where many sites meet. Site S's local <c>{prefix}/...</c> appears as
/// <c>sites/{S}/{prefix}/...</c> (NATS <c>sites.{S}.{prefix}....</c>); the link between S and the hub does the
/// mapping, so workers at a site never see site names. The hub's own topics live under <c>fleet/</c>.
/// </summary>
public sealed class FleetTopics
{
    public const string SitesRoot = "sites";
    public const string FleetRoot = "fleet";

    /// <summary>Retained JSON <c>FleetSummary</c> of all sites.</summary>
    public const string Summary = FleetRoot + "/summary";

    /// <summary>Filter for every site's retained <c>SiteStatus</c>.</summary>
    public const string AllSiteStatuses = FleetRoot + "/sites/+";

    /// <summary>Filter for everything every site sends to the hub (including their link state).</summary>
    public const string AllSites = SitesRoot + "/#";

    /// <summary>Filter for every site's link state.</summary>
    public const string AllLinks = SitesRoot + "/+/link";

    public FleetTopics(string prefix = TopicScheme.DefaultPrefix) => Local = new TopicScheme(prefix);

    /// <summary>The topic scheme the sites use locally (same prefix everywhere in a fleet).</summary>
    public TopicScheme Local { get; }

    /// <summary><c>sites/{site}</c>: the root of everything site <paramref name="site"/> owns at the hub.</summary>
    public static string SiteRoot(string site) => $"{SitesRoot}/{SiteName.Validate(site)}";

    /// <summary>Site <paramref name="site"/>'s topics as seen at the hub (<c>sites/{site}/{prefix}/...</c>).</summary>
    public TopicScheme ForSite(string site) => new($"{SiteRoot(site)}/{Local.Prefix}");

    /// <summary>Filter for one kind of topic across every site, e.g. <c>sites/+/edge/events/+</c>.</summary>
    public string AllSitesOf(TopicKind kind) => $"{SitesRoot}/+/{Local.AllOf(kind)}";

    /// <summary>
    /// Filter for every detector's model state at every site: <c>sites/+/edge/status/detector/+/model</c>.
    /// </summary>
    public string AllSitesDetectorModels => $"{SitesRoot}/+/{Local.DetectorModel("+")}";

    /// <summary>
    /// <c>sites/{site}/link</c>: <c>1</c> while the site's link to the hub is up, <c>0</c> when down (retained).
    /// </summary>
    public static string Link(string site) => $"{SiteRoot(site)}/link";

    /// <summary><c>fleet/sites/{site}</c>: the hub's retained JSON <c>SiteStatus</c> of the site.</summary>
    public static string SiteStatus(string site) => $"{FleetRoot}/sites/{SiteName.Validate(site)}";

    /// <summary>A site-local topic (<c>edge/events/cam1</c>) as it appears at the hub.</summary>
    public static string ToHub(string site, string localTopic) => $"{SiteRoot(site)}/{localTopic}";

    /// <summary>
    /// Splits a hub topic <c>sites/{site}/...</c> into the site and the rest (the site-local topic, or <c>link</c>).
    /// Null when the topic is not under <c>sites/</c> or names an invalid site.
    /// </summary>
    public static (string Site, string Local)? FromHub(string hubTopic)
    {
        if (!hubTopic.StartsWith(SitesRoot + "/", StringComparison.Ordinal)) return null;
        var rest = hubTopic.AsSpan(SitesRoot.Length + 1);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1) return null;
        var site = rest[..slash].ToString();
        return SiteName.IsValid(site) ? (site, rest[(slash + 1)..].ToString()) : null;
    }
}

/// <summary>Payloads of <c>sites/{site}/link</c>, as mosquitto bridge notifications write them.</summary>
public static class LinkPayloads
{
    public const string Up = "1";
    public const string Down = "0";
}
