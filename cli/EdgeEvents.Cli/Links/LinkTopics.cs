using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Cli.Links;

/// <summary>One kind of topic crossing the WAN: its segment under the prefix and the QoS it travels with.</summary>
public sealed record LinkTopic(string Segment, int Qos);

/// <summary>
/// What crosses the WAN between a site and the hub, shared by every link generator. Up at QoS 1 (queued while the
/// link is down): events, scene, status, errors, answers. Up at QoS 0 (latest wins, nothing queued): stats and
/// snapshots; frames and detections only when asked for. Down at QoS 1: the site's questions and control messages.
/// </summary>
public sealed record LinkTopics(bool Frames = false, bool Detections = false)
{
    public IReadOnlyList<LinkTopic> Up =>
    [
        new("events", 1), new("scene", 1), new("status", 1), new("errors", 1), new("answers", 1),
        new("stats", 0), new("snapshots", 0),
        .. Frames ? [new LinkTopic("frames", 0)] : Array.Empty<LinkTopic>(),
        .. Detections ? [new LinkTopic("detections", 0)] : Array.Empty<LinkTopic>(),
    ];

    public IReadOnlyList<LinkTopic> Down => [new("questions", 1), new("control", 1)];

    /// <summary>The hub-side root of a site's topics: <c>sites/{site}/{prefix}</c>.</summary>
    public static string HubPrefix(string site, string prefix) => $"{FleetTopics.SiteRoot(site)}/{prefix}";
}
