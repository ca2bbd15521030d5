using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeEvents.Contracts.Topics;

namespace EdgeEvents.Cli.Links;

/// <summary>What <c>edge-events link nats</c> writes a configuration for.</summary>
public sealed record NatsLinkSettings
{
    public required string Site { get; init; }
    /// <summary>
    /// The hub servers' leafnode listeners (<c>nats-leaf://HOST:PORT</c>), one per cluster node or one for all.
    /// </summary>
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
/// republishes each message as <c>sites.{site}.{prefix}....</c>, which the hub account imports. Scene, status and
/// snapshots the same way from the site's <c>EDGE_RETAINED</c> (the latest per subject, so after a cut the hub gets
/// the current ones, not the history). The site's leaf node does not export those kinds live, so they reach the hub
/// in the site streams' order only. Stats (not stored) reach the hub live through a plain prefixed import.
/// Down, the same the other way: questions asked at the hub are kept in a hub stream of the site's account, which
/// the site's <c>EDGE</c> stream sources through the hub's domain; the leaf node does not import them live.
/// </summary>
public static class NatsLink
{
    /// <summary>
    /// Name of the workers' stream at the site (the NATS transport's default <c>Transport:Nats:JetStream:Stream</c>).
    /// </summary>
    public const string SiteStream = "EDGE";

    /// <summary>
    /// The workers' stream of retained state at the site (the transport's default <c>RetainedStream</c>).
    /// </summary>
    public const string SiteRetainedStream = "EDGE_RETAINED";

    /// <summary>Name of the hub stream, in the site's account, that sources <see cref="SiteStream"/>.</summary>
    public const string HubStream = "FROM_SITE";

    /// <summary>Name of the hub stream, in the site's account, that sources <see cref="SiteRetainedStream"/>.</summary>
    public const string RetainedHubStream = "FROM_SITE_RETAINED";

    /// <summary>
    /// The hub stream, in the site's account, keeping the site's questions; <see cref="SiteStream"/> sources it.
    /// </summary>
    public const string QuestionsStream = "TO_SITE";

    /// <summary>The streams to create at the hub for each site, with its credentials.</summary>
    public static IReadOnlyList<string> HubStreams { get; } = [HubStream, RetainedHubStream, QuestionsStream];

    /// <summary>The JetStream domain of the hub servers (<c>jetstream { domain: hub }</c>).</summary>
    public const string DefaultHubDomain = "hub";

    /// <summary>
    /// Kind reaching the site only through <see cref="QuestionsStream"/>, so one asked during a cut is kept.
    /// </summary>
    private const string Questions = "questions";

    /// <summary>
    /// Kinds the site's <see cref="SiteStream"/> stores, which therefore reach the hub through
    /// <see cref="HubStream"/>.
    /// </summary>
    private static readonly string[] Stored = ["events", "errors", "answers"];

    /// <summary>
    /// Kinds the site's <see cref="SiteRetainedStream"/> keeps the latest of, which reach the hub through
    /// <see cref="RetainedHubStream"/>.
    /// </summary>
    private static readonly string[] Retained = ["scene", "status", "snapshots"];

    /// <summary>Every kind that reaches the hub through a hub stream's source, never live.</summary>
    private static readonly string[] Sourced = [.. Stored, .. Retained];

    /// <summary>The site's account at the hub: <c>plant-a</c> → <c>SITE_PLANT_A</c>.</summary>
    public static string Account(string site) => "SITE_" + SiteName.Validate(site).ToUpperInvariant().Replace('-', '_');

    /// <summary>
    /// The site's <c>nats-server.conf</c> additions: its JetStream domain and the leaf node link to the hub.
    /// </summary>
    public static string SiteConfig(NatsLinkSettings s)
    {
        SiteName.Validate(s.Site);
        if (s.Hubs.Count == 0) throw new ArgumentException("Give at least one hub: --hub nats-leaf://HOST:PORT.");
        var urls = s.Hubs.Select(hub => LeafUrl(hub, s.Site, s.Password));
        var text = new StringBuilder()
            .AppendLine($"# Link of site '{s.Site}' to the hub (edge-events link nats). " +
                "Merge into the site's nats-server.conf.")
            .AppendLine($"server_name: site-{s.Site}")
            .AppendLine("# The site's own JetStream domain: its streams keep working, and keep what the hub has " +
                "not fetched, while the link is down.")
            .AppendLine($"jetstream {{ store_dir: \"{s.StoreDir}\", domain: {s.Site} }}")
            .AppendLine("leafnodes {")
            .AppendLine("  remotes: [{")
            .AppendLine($"    urls: [{string.Join(", ", urls.Select(u => $"\"{u}\""))}]");
        if (s.CaFile is not null) text.AppendLine($"    tls: {{ ca_file: \"{s.CaFile}\" }}");
        // Sourced kinds reach the hub only through the hub streams' sources, in the site streams' order: a live copy
        // captured beside a backlog still being sourced would overtake it.
        // The site's own questions stay at the site (the hub's question stream must hold the hub's only); the hub's
        // arrive only through that stream's source, never twice.
        var denied = Sourced.Append(Questions).Select(k => $"\"{s.Prefix}.{k}.>\"");
        text.AppendLine($"    deny_exports: [{string.Join(", ", denied)}]")
            .AppendLine($"    deny_imports: [\"{s.Prefix}.{Questions}.>\"]");
        return text.AppendLine("  }]").AppendLine("}").ToString();
    }

    /// <summary>
    /// The hub's <c>accounts</c> block for <paramref name="sites"/>: one account per site (its leaf user, JetStream
    /// for <see cref="HubStream"/>, what it exports and imports) and the <c>HUB</c> account of the hub's own clients.
    /// </summary>
    /// <param name="passwordOf">
    /// The password expression of a site's user: a quoted literal, or a <c>$VARIABLE</c> nats-server reads from the
    /// environment.
    /// </param>
    /// <param name="hubUsers">The <c>HUB</c> account's users and their password expressions.</param>
    public static string HubAccounts(IReadOnlyList<string> sites, Func<string, string> passwordOf,
        IReadOnlyList<(string User, string Password)> hubUsers, string prefix = TopicScheme.DefaultPrefix)
    {
        var topics = new LinkTopics();
        var live = topics.Up.Select(t => t.Segment).Except(Sourced).ToList();
        var text = new StringBuilder().AppendLine("accounts {");
        foreach (var site in sites)
        {
            var root = $"{FleetTopics.SitesRoot}.{SiteName.Validate(site)}.{prefix}";
            text.AppendLine($"  {Account(site)}: {{")
                .AppendLine("    jetstream: enabled")
                .AppendLine($"    users: [{{user: {site}, password: {passwordOf(site)}}}]")
                .AppendLine("    exports: [")
                .AppendLine(string.Join(",\n", [
                    .. Sourced.Select(k => $"      {{stream: \"{root}.{k}.>\"}}"),
                    .. live.Select(k => $"      {{stream: \"{prefix}.{k}.>\"}}")]))
                .AppendLine("    ]")
                .AppendLine("    imports: [")
                .AppendLine(string.Join(",\n", topics.Down.Select(t =>
                    $"      {{stream: {{account: HUB, subject: \"{root}.{t.Segment}.>\"}}, " +
                    $"to: \"{prefix}.{t.Segment}.>\"}}")))
                .AppendLine("    ]")
                .AppendLine("  }");
        }
        var hubUserList = string.Join(", ", hubUsers.Select(u => $"{{user: {u.User}, password: {u.Password}}}"));
        text.AppendLine("  HUB: {")
            .AppendLine("    jetstream: enabled")
            .AppendLine($"    users: [{hubUserList}]")
            .AppendLine("    imports: [");
        var imports = sites.SelectMany(site =>
        {
            var root = $"{FleetTopics.SitesRoot}.{site}.{prefix}";
            return (IEnumerable<string>)[
                .. Sourced.Select(k => $"      {{stream: {{account: {Account(site)}, subject: \"{root}.{k}.>\"}}}}"),
                .. live.Select(k => $"      {{stream: {{account: {Account(site)}, subject: \"{prefix}.{k}.>\"}}, " +
                    $"prefix: \"{FleetTopics.SitesRoot}.{site}\"}}")];
        });
        text.AppendLine(string.Join(",\n", imports)).AppendLine("    ]").AppendLine("    exports: [");
        var exports = sites.SelectMany(site => topics.Down.Select(t =>
            $"      {{stream: \"{FleetTopics.SitesRoot}.{site}.{prefix}.{t.Segment}.>\"}}"));
        return text.AppendLine(string.Join(",\n", exports))
            .AppendLine("    ]").AppendLine("  }").AppendLine("}")
            .ToString();
    }

    /// <summary>
    /// A hub stream of one site (one of <see cref="HubStreams"/>), as the JetStream API's stream configuration (JSON:
    /// <c>nats stream add --config</c>, or a request on <c>$JS.API.STREAM.CREATE.{name}</c> made with the site's
    /// credentials, which log in to its account).
    /// </summary>
    /// <param name="replicas">1, or 3 on a 3-node hub cluster so losing one hub server loses nothing.</param>
    public static string HubStreamConfig(
        string site, string stream, int replicas, string prefix = TopicScheme.DefaultPrefix)
    {
        SiteName.Validate(site);
        var config = stream switch
        {
            HubStream => FromSiteConfig(HubStream, SiteStream, Stored, latestOnly: false, site, replicas, prefix),
            RetainedHubStream =>
                FromSiteConfig(RetainedHubStream, SiteRetainedStream, Retained, latestOnly: true, site, replicas,
                    prefix),
            QuestionsStream => QuestionsConfig(replicas, prefix),
            _ => throw new ArgumentException(
                $"No hub stream '{stream}'; the hub streams are {string.Join(", ", HubStreams)}."),
        };
        // Relaxed escaping keeps '>' readable in subjects.
        var jsonOptions = new JsonSerializerOptions
        {
            WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        return config.ToJsonString(jsonOptions);
    }

    /// <summary>
    /// The transport settings of the site's workers (every one, as each creates or updates <see cref="SiteStream"/>
    /// at connect): <see cref="SiteStream"/> sources <see cref="QuestionsStream"/> through the hub's domain.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> SiteTransportSettings(
        string hubDomain = DefaultHubDomain) =>
    [
        new("Transport:Nats:JetStream:Sources:0:Stream", QuestionsStream),
        new("Transport:Nats:JetStream:Sources:0:Domain", hubDomain),
    ];

    /// <summary>
    /// Questions asked at the hub, in the site's account (the account imports them as <c>{prefix}.questions.&gt;</c>),
    /// kept while the site is cut off; the site's stream sources them, so the site's LLM worker gets them in order.
    /// </summary>
    private static JsonObject QuestionsConfig(int replicas, string prefix) => new()
    {
        ["name"] = QuestionsStream,
        ["subjects"] = new JsonArray(JsonValue.Create($"{prefix}.{Questions}.>")),
        ["storage"] = "file",
        ["num_replicas"] = replicas,
        ["max_age"] = (long)TimeSpan.FromDays(1).TotalNanoseconds,
        ["duplicate_window"] = (long)TimeSpan.FromMinutes(10).TotalNanoseconds,
    };

    /// <summary>
    /// Sources the site's <paramref name="siteStream"/> and republishes every message under <c>sites.{site}.</c>. Its
    /// subjects are there because a republish needs them; a live copy they might capture (a site configured by hand
    /// that exports those kinds) is dropped as a duplicate of the sourced one on <c>Nats-Msg-Id</c>.
    /// </summary>
    /// <param name="latestOnly">
    /// Keeps the latest message per subject only, as the retained stream at the site does.
    /// </param>
    private static JsonObject FromSiteConfig(
        string name, string siteStream, string[] kinds, bool latestOnly, string site, int replicas, string prefix)
    {
        var config = new JsonObject
        {
            ["name"] = name,
            ["subjects"] = new JsonArray([.. kinds.Select(k => JsonValue.Create($"{prefix}.{k}.>"))]),
            ["storage"] = "file",
            ["num_replicas"] = replicas,
            ["max_age"] = (long)TimeSpan.FromDays(7).TotalNanoseconds,
            // Drops a message sourced again after a hub node failed over, and a live copy from a hand-made site link.
            ["duplicate_window"] = (long)TimeSpan.FromMinutes(10).TotalNanoseconds,
            ["sources"] = new JsonArray(new JsonObject
            {
                ["name"] = siteStream,
                ["external"] = new JsonObject { ["api"] = $"$JS.{site}.API" },
            }),
            ["republish"] = new JsonObject
            {
                ["src"] = $"{prefix}.>", ["dest"] = $"{FleetTopics.SitesRoot}.{site}.{prefix}.>",
            },
        };
        if (latestOnly) config["max_msgs_per_subject"] = 1;
        return config;
    }

    private static string LeafUrl(Uri hub, string site, string? password)
    {
        if (hub.Scheme is not ("nats-leaf" or "tls" or "nats"))
            throw new ArgumentException($"Hub '{hub}' is not a leafnode URL; use nats-leaf://HOST:PORT.");
        var user = password is null ? site : $"{site}:{Uri.EscapeDataString(password)}";
        return $"{hub.Scheme}://{user}@{hub.Host}:{(hub.IsDefaultPort ? 7422 : hub.Port)}";
    }
}
