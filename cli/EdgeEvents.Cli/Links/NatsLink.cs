using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Cli.Links;

/// <summary>What <c>edge-events link nats</c> writes a configuration for.</summary>
public sealed record NatsLinkSettings
{
    public required string Site { get; init; }
    /// <summary>The hub servers' leafnode listeners (<c>nats-leaf://HOST:PORT</c>), one per cluster node or one for all.</summary>
    public required IReadOnlyList<Uri> Hubs { get; init; }
    public string Prefix { get; init; } = TopicScheme.DefaultPrefix;
    /// <summary>The site's password at the hub (its user name is the site name).</summary>
    public string? Password { get; init; }
    /// <summary>CA certificate of the hub (TLS leafnode connections).</summary>
    public string? CaFile { get; init; }
    public const string DefaultStoreDir = "/var/lib/nats/jetstream";

    /// <summary>Where the site's JetStream stores its streams. Default <c>/var/lib/nats/jetstream</c>.</summary>
    public string StoreDir { get; init; } = DefaultStoreDir;
}

/// <summary>
/// Writes nats-server configuration for sites linked to a hub as leaf nodes. Each site has an account at the hub
/// (<c>SITE_PLANT_A</c>) its leaf node binds to, so whatever it publishes stays in that account; the hub account
/// imports the site's subjects under <c>sites.{site}.</c> and exports the site's questions and control to it.
/// Store-and-forward: the site runs JetStream in its own domain (its name), where the workers' <c>EDGE</c> stream keeps
/// events, errors and answers while the link is down; a stream at the hub, in the site's account, sources it and
/// republishes each message as <c>sites.{site}.{prefix}....</c>, which the hub account imports. The site's leaf node
/// does not export those kinds live, so they reach the hub in the site stream's order only. Subjects that are not
/// stored (scene, status, stats, snapshots) reach the hub live through a plain prefixed import.
/// </summary>
public static class NatsLink
{
    /// <summary>Name of the workers' stream at the site (the NATS transport's default <c>Transport:Nats:JetStream:Stream</c>).</summary>
    public const string SiteStream = "EDGE";

    /// <summary>Name of the hub stream, in the site's account, that sources <see cref="SiteStream"/>.</summary>
    public const string HubStream = "FROM_SITE";

    /// <summary>Kinds the site's <see cref="SiteStream"/> stores, which therefore reach the hub through <see cref="HubStream"/>.</summary>
    private static readonly string[] Stored = ["events", "errors", "answers"];

    /// <summary>The site's account at the hub: <c>plant-a</c> → <c>SITE_PLANT_A</c>.</summary>
    public static string Account(string site) => "SITE_" + SiteName.Validate(site).ToUpperInvariant().Replace('-', '_');

    /// <summary>The site's <c>nats-server.conf</c> additions: its JetStream domain and the leaf node link to the hub.</summary>
    public static string SiteConfig(NatsLinkSettings s)
    {
        SiteName.Validate(s.Site);
        if (s.Hubs.Count == 0) throw new ArgumentException("Give at least one hub: --hub nats-leaf://HOST:PORT.");
        var urls = s.Hubs.Select(hub => LeafUrl(hub, s.Site, s.Password));
        var text = new StringBuilder()
            .AppendLine($"# Link of site '{s.Site}' to the hub (edge-events link nats). Merge into the site's nats-server.conf.")
            .AppendLine($"server_name: site-{s.Site}")
            .AppendLine("# The site's own JetStream domain: its streams keep working, and keep what the hub has not fetched, while the link is down.")
            .AppendLine($"jetstream {{ store_dir: \"{s.StoreDir}\", domain: {s.Site} }}")
            .AppendLine("leafnodes {")
            .AppendLine("  remotes: [{")
            .AppendLine($"    urls: [{string.Join(", ", urls.Select(u => $"\"{u}\""))}]");
        if (s.CaFile is not null) text.AppendLine($"    tls: {{ ca_file: \"{s.CaFile}\" }}");
        // Stored kinds reach the hub only through the hub stream's source, in the site stream's order: a live copy
        // captured beside a backlog still being sourced would overtake it.
        text.AppendLine($"    deny_exports: [{string.Join(", ", Stored.Select(k => $"\"{s.Prefix}.{k}.>\""))}]");
        return text.AppendLine("  }]").AppendLine("}").ToString();
    }

    /// <summary>
    /// The hub's <c>accounts</c> block for <paramref name="sites"/>: one account per site (its leaf user, JetStream
    /// for <see cref="HubStream"/>, what it exports and imports) and the <c>HUB</c> account of the hub's own clients.
    /// </summary>
    /// <param name="passwordOf">The password expression of a site's user: a quoted literal, or a <c>$VARIABLE</c> nats-server reads from the environment.</param>
    /// <param name="hubUsers">The <c>HUB</c> account's users and their password expressions.</param>
    public static string HubAccounts(IReadOnlyList<string> sites, Func<string, string> passwordOf, IReadOnlyList<(string User, string Password)> hubUsers, string prefix = TopicScheme.DefaultPrefix)
    {
        var topics = new LinkTopics();
        var live = topics.Up.Select(t => t.Segment).Except(Stored).ToList();
        var text = new StringBuilder().AppendLine("accounts {");
        foreach (var site in sites)
        {
            var root = $"{FleetTopics.SitesRoot}.{SiteName.Validate(site)}.{prefix}";
            text.AppendLine($"  {Account(site)}: {{")
                .AppendLine("    jetstream: enabled")
                .AppendLine($"    users: [{{user: {site}, password: {passwordOf(site)}}}]")
                .AppendLine("    exports: [")
                .AppendLine(string.Join(",\n", [
                    .. Stored.Select(k => $"      {{stream: \"{root}.{k}.>\"}}"),
                    .. live.Select(k => $"      {{stream: \"{prefix}.{k}.>\"}}")]))
                .AppendLine("    ]")
                .AppendLine("    imports: [")
                .AppendLine(string.Join(",\n", topics.Down.Select(t =>
                    $"      {{stream: {{account: HUB, subject: \"{root}.{t.Segment}.>\"}}, to: \"{prefix}.{t.Segment}.>\"}}")))
                .AppendLine("    ]")
                .AppendLine("  }");
        }
        text.AppendLine("  HUB: {")
            .AppendLine("    jetstream: enabled")
            .AppendLine($"    users: [{string.Join(", ", hubUsers.Select(u => $"{{user: {u.User}, password: {u.Password}}}"))}]")
            .AppendLine("    imports: [");
        var imports = sites.SelectMany(site =>
        {
            var root = $"{FleetTopics.SitesRoot}.{site}.{prefix}";
            return (IEnumerable<string>)[
                .. Stored.Select(k => $"      {{stream: {{account: {Account(site)}, subject: \"{root}.{k}.>\"}}}}"),
                .. live.Select(k => $"      {{stream: {{account: {Account(site)}, subject: \"{prefix}.{k}.>\"}}, prefix: \"{FleetTopics.SitesRoot}.{site}\"}}")];
        });
        text.AppendLine(string.Join(",\n", imports)).AppendLine("    ]").AppendLine("    exports: [");
        var exports = sites.SelectMany(site => topics.Down.Select(t => $"      {{stream: \"{FleetTopics.SitesRoot}.{site}.{prefix}.{t.Segment}.>\"}}"));
        return text.AppendLine(string.Join(",\n", exports)).AppendLine("    ]").AppendLine("  }").AppendLine("}").ToString();
    }

    /// <summary>
    /// The hub stream of one site, as the JetStream API's stream configuration (JSON: <c>nats stream add --config</c>,
    /// or a request on <c>$JS.API.STREAM.CREATE.FROM_SITE</c> made with the site's credentials, which log in to its
    /// account). It sources the site's <see cref="SiteStream"/> and republishes every message under <c>sites.{site}.</c>.
    /// Its subjects are there because a republish needs them; a live copy they might capture (a site configured by hand
    /// that exports the stored kinds) is dropped as a duplicate of the sourced one on <c>Nats-Msg-Id</c>.
    /// </summary>
    /// <param name="replicas">1, or 3 on a 3-node hub cluster so losing one hub server loses nothing.</param>
    public static string HubStreamConfig(string site, int replicas, string prefix = TopicScheme.DefaultPrefix)
    {
        SiteName.Validate(site);
        var config = new JsonObject
        {
            ["name"] = HubStream,
            ["subjects"] = new JsonArray([.. Stored.Select(k => JsonValue.Create($"{prefix}.{k}.>"))]),
            ["storage"] = "file",
            ["num_replicas"] = replicas,
            ["max_age"] = (long)TimeSpan.FromDays(7).TotalNanoseconds,
            // Drops a message sourced again after a hub node failed over, and a live copy from a hand-made site link.
            ["duplicate_window"] = (long)TimeSpan.FromMinutes(10).TotalNanoseconds,
            ["sources"] = new JsonArray(new JsonObject
            {
                ["name"] = SiteStream,
                ["external"] = new JsonObject { ["api"] = $"$JS.{site}.API" },
            }),
            ["republish"] = new JsonObject { ["src"] = $"{prefix}.>", ["dest"] = $"{FleetTopics.SitesRoot}.{site}.{prefix}.>" },
        };
        // Relaxed escaping keeps '>' readable in subjects.
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string LeafUrl(Uri hub, string site, string? password)
    {
        if (hub.Scheme is not ("nats-leaf" or "tls" or "nats"))
            throw new ArgumentException($"Hub '{hub}' is not a leafnode URL; use nats-leaf://HOST:PORT.");
        var user = password is null ? site : $"{site}:{Uri.EscapeDataString(password)}";
        return $"{hub.Scheme}://{user}@{hub.Host}:{(hub.IsDefaultPort ? 7422 : hub.Port)}";
    }
}
