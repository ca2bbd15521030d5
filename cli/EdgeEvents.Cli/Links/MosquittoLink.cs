using System.Text;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Cli.Links;

/// <summary>What <c>edge-events link mosquitto</c> writes a configuration for.</summary>
public sealed record MosquittoLinkSettings
{
    public required string Site { get; init; }
    /// <summary>The hub's MQTT listener (<c>mqtt://</c> or <c>mqtts://</c>).</summary>
    public required BrokerAddress Hub { get; init; }
    public string Prefix { get; init; } = TopicScheme.DefaultPrefix;
    /// <summary>User at the hub. Default: the site name, which the hub's ACL patterns (<c>%u</c>) rely on.</summary>
    public string? Username { get; init; }
    public string? Password { get; init; }
    /// <summary>CA certificate of the hub (mqtts); without it the system's CAs are used.</summary>
    public string? CaFile { get; init; }
    public const int DefaultQueueLimit = 100_000;

    /// <summary>Most messages queued for the hub while the link is down. Default 100,000.</summary>
    public int QueueLimit { get; init; } = DefaultQueueLimit;
    public LinkTopics Topics { get; init; } = new();
}

/// <summary>
/// Writes mosquitto configuration for a site's link to the hub: the site broker's bridge, and the hub's ACL that
/// confines each site to its own namespace.
/// </summary>
public static class MosquittoLink
{
    /// <summary>
    /// Lines to append to the site's <c>mosquitto.conf</c>: the settings the bridge relies on, then its
    /// <c>connection</c> block.
    /// </summary>
    public static string SiteConfig(MosquittoLinkSettings s)
    {
        SiteName.Validate(s.Site);
        if (s.Hub.Protocol != BrokerProtocol.Mqtt)
            throw new ArgumentException(
                $"The hub '{s.Hub}' is not an MQTT broker; use mqtt://HOST:PORT or mqtts://HOST:PORT.");
        var remote = LinkTopics.HubPrefix(s.Site, s.Prefix);
        var text = new StringBuilder();
        text.AppendLine($"# Link of site '{s.Site}' to the hub {s.Hub} (edge-events link mosquitto). " +
                "Append to the site's mosquitto.conf.")
            .AppendLine("# While the link is down, QoS 1 messages wait here, and survive a restart or a crash of " +
                "this broker:")
            .AppendLine("# persistence saved after every change (autosave_on_changes with an interval of 1).")
            .AppendLine("persistence true")
            .AppendLine("autosave_on_changes true")
            .AppendLine("autosave_interval 1")
            .AppendLine($"max_queued_messages {s.QueueLimit}")
            .AppendLine()
            .AppendLine($"connection hub-{s.Site}")
            .AppendLine($"address {s.Hub.Host}:{s.Hub.Port}")
            .AppendLine("# MQTT 3.1.1: a 2.0 bridge speaking MQTT 5 asks the hub for a session that ends with the " +
                "connection,")
            .AppendLine("# and questions queued for the site during a cut would be lost. Ids travel in the payloads.")
            .AppendLine("bridge_protocol_version mqttv311")
            .AppendLine($"clientid bridge-{s.Site}")
            .AppendLine("# A persistent session at the hub: questions for this site wait there while the link is down.")
            .AppendLine("cleansession false")
            .AppendLine("try_private true")
            .AppendLine("keepalive_interval 20")
            .AppendLine("restart_timeout 1 10")
            .AppendLine($"remote_username {s.Username ?? s.Site}");
        if (s.Password is not null) text.AppendLine($"remote_password {s.Password}");
        if (s.Hub.Tls)
        {
            if (s.CaFile is not null) text.AppendLine($"bridge_cafile {s.CaFile}");
            else text.AppendLine("bridge_capath /etc/ssl/certs");
        }
        text.AppendLine("# 1 when the link is up, 0 when it goes down (the hub publishes 0 as the bridge's will), " +
                "retained at the hub.")
            .AppendLine("notifications true")
            .AppendLine("notifications_local_only false")
            .AppendLine($"notification_topic {FleetTopics.Link(s.Site)}");
        foreach (var topic in s.Topics.Up)
            text.AppendLine($"topic {topic.Segment}/# out {topic.Qos} {s.Prefix}/ {remote}/");
        foreach (var topic in s.Topics.Down)
            text.AppendLine($"topic {topic.Segment}/# in {topic.Qos} {s.Prefix}/ {remote}/");
        return text.ToString();
    }

    /// <summary>
    /// The hub's <c>acl_file</c>. A site connects with its site name as user name; the patterns let it write only
    /// under <c>sites/{site}/</c> and read only its own questions and control messages. <paramref name="hubUsers"/>
    /// (the fleet component, dashboards, operators) may read and write everything.
    /// </summary>
    public static string HubAcl(IEnumerable<string> hubUsers, string prefix = TopicScheme.DefaultPrefix)
    {
        var site = $"{FleetTopics.SitesRoot}/%u";
        var text = new StringBuilder()
            .AppendLine("# Hub ACL for edge sites (edge-events link mosquitto --hub-acl). " +
                "Each site's user name is its site name.")
            .AppendLine($"pattern write {site}/#");
        foreach (var topic in new LinkTopics().Down)
            text.AppendLine($"pattern read {site}/{prefix}/{topic.Segment}/#");
        foreach (var user in hubUsers)
        {
            text.AppendLine().AppendLine($"user {user}").AppendLine("topic readwrite #");
        }
        return text.ToString();
    }
}
