using System.CommandLine;
using EdgeEvents.Cli.Links;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Cli.Commands;

/// <summary>
/// <c>edge-events link mosquitto|nats</c>: prints the broker configuration that links a site to the hub with the
/// engines' own forwarding (a mosquitto bridge, a NATS leaf node with JetStream), so nobody writes it by hand.
/// </summary>
public static class LinkCommand
{
    public static Command Create()
    {
        var command = new Command("link",
            "Print broker configuration linking an edge site to the hub (sites/{site}/... there).");
        command.Subcommands.Add(Mosquitto());
        command.Subcommands.Add(Nats());
        return command;
    }

    private static Command Mosquitto()
    {
        var site = SiteOption();
        var hub = new Option<string>("--hub")
        {
            Description = "The hub broker: mqtt://HOST:PORT or mqtts://HOST:PORT (required for the site's bridge)",
        };
        var username = new Option<string>("--username")
        {
            Description = "User at the hub [default: the site name, which the hub ACL relies on]",
        };
        var passwordFile = PasswordFileOption();
        var caFile = new Option<FileInfo>("--ca-file")
        {
            Description = "CA certificate of the hub (mqtts) [default: the system's CAs]",
        };
        var prefix = PrefixOption();
        var queueLimit = new Option<int>("--queue-limit")
        {
            Description = "Most messages kept for the hub while the link is down [default: 100000]",
        };
        var frames = new Option<bool>("--forward-frames")
        {
            Description = "Also send frames to the hub (QoS 0) [default: off]",
        };
        var detections = new Option<bool>("--forward-detections")
        {
            Description = "Also send detections to the hub (QoS 0) [default: off]",
        };
        var hubAcl = new Option<bool>("--hub-acl")
        {
            Description = "Print the hub's acl_file instead (sites may write only sites/{user}/#)",
        };
        var hubUsers = new Option<string[]>("--hub-user")
        {
            Description = "With --hub-acl: users of the hub itself, allowed everything [default: hub]",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("mosquitto",
            "Print a site's mosquitto bridge to the hub (append to its mosquitto.conf), or the hub's ACL.")
        {
            site, hub, username, passwordFile, caFile, prefix, queueLimit, frames, detections, hubAcl, hubUsers,
        };
        command.SetAction(parse => Print(() =>
        {
            var prefixValue = parse.GetValue(prefix) ?? TopicScheme.DefaultPrefix;
            if (parse.GetValue(hubAcl))
                return MosquittoLink.HubAcl(parse.GetValue(hubUsers) is { Length: > 0 } users ? users : ["hub"],
                    new TopicScheme(prefixValue).Prefix);
            return MosquittoLink.SiteConfig(new MosquittoLinkSettings
            {
                Site = Required(parse.GetValue(site), "--site"),
                Hub = BrokerAddress.Parse(Required(parse.GetValue(hub), "--hub")),
                Prefix = new TopicScheme(prefixValue).Prefix,
                Username = parse.GetValue(username),
                Password = ReadPassword(parse.GetValue(passwordFile)),
                CaFile = parse.GetValue(caFile)?.FullName,
                QueueLimit = parse.GetValue(queueLimit) is > 0 and var limit
                    ? limit
                    : MosquittoLinkSettings.DefaultQueueLimit,
                Topics = new LinkTopics(parse.GetValue(frames), parse.GetValue(detections)),
            });
        }));
        return command;
    }

    private static Command Nats()
    {
        var sites = new Option<string[]>("--site")
        {
            Description = "Site name: lower-case letters, digits and '-' " +
                "(required; with --hub-accounts, repeat for every site)",
            AllowMultipleArgumentsPerToken = true,
        };
        var hubs = new Option<string[]>("--hub")
        {
            Description = "The hub's leafnode listener, nats-leaf://HOST:PORT; " +
                "repeat for each server of a hub cluster (required for the site's part)",
            AllowMultipleArgumentsPerToken = true,
        };
        var passwordFile = PasswordFileOption();
        var caFile = new Option<FileInfo>("--ca-file")
        {
            Description = "CA certificate of the hub (TLS leaf connections)",
        };
        var prefix = PrefixOption();
        var storeDir = new Option<string>("--store-dir")
        {
            Description = "The site's JetStream store [default: /var/lib/nats/jetstream]",
        };
        var hubAccounts = new Option<bool>("--hub-accounts")
        {
            Description = "Print the hub's accounts block for the sites instead " +
                "(passwords from $SITE_<NAME>_PASSWORD and $HUB_PASSWORD in the hub's environment)",
        };
        var hubStream = new Option<string>("--hub-stream")
        {
            Description = $"Print one of the site's hub streams instead ({string.Join(" or ", NatsLink.HubStreams)}; " +
                "JetStream stream configuration, JSON)",
        };
        var replicas = new Option<int>("--replicas")
        {
            Description = "With --hub-stream: replicas of the hub stream, 3 on a 3-node hub [default: 1]",
        };
        var siteSettings = new Option<bool>("--site-settings")
        {
            Description = "Print the settings of the site's workers instead (EDGEEVENTS_ environment lines): " +
                "their stream sources the site's questions at the hub",
        };
        var hubDomain = new Option<string>("--hub-domain")
        {
            Description = $"With --site-settings: the hub's JetStream domain [default: {NatsLink.DefaultHubDomain}]",
        };
        var command = new Command("nats",
            "Print a site's leaf node + JetStream configuration, its workers' settings, " +
            "or the hub's accounts and streams for sites.")
        {
            sites, hubs, passwordFile, caFile, prefix, storeDir, hubAccounts, hubStream, replicas, siteSettings,
            hubDomain,
        };
        command.SetAction(parse => Print(() =>
        {
            var prefixValue = new TopicScheme(parse.GetValue(prefix) ?? TopicScheme.DefaultPrefix).Prefix;
            var siteNames = parse.GetValue(sites) ?? [];
            if (siteNames.Length == 0) throw new ArgumentException("--site is required.");
            foreach (var name in siteNames) SiteName.Validate(name);
            if (parse.GetValue(hubAccounts))
                return NatsLink.HubAccounts(siteNames, s => "$" + NatsLink.Account(s) + "_PASSWORD",
                    [("hub", "$HUB_PASSWORD")], prefixValue);
            if (siteNames.Length > 1)
                throw new ArgumentException("Give one --site (several only with --hub-accounts).");
            if (parse.GetValue(hubStream) is { } stream)
            {
                var replicaCount = parse.GetValue(replicas) is > 0 and var n ? n : 1;
                return NatsLink.HubStreamConfig(siteNames[0], stream, replicaCount, prefixValue) + "\n";
            }
            if (parse.GetValue(siteSettings))
            {
                var hubDomainValue = parse.GetValue(hubDomain) ?? NatsLink.DefaultHubDomain;
                return string.Concat(NatsLink.SiteTransportSettings(hubDomainValue)
                    .Select(s => $"EDGEEVENTS_{s.Key.Replace(":", "__", StringComparison.Ordinal)}={s.Value}\n"));
            }
            return NatsLink.SiteConfig(new NatsLinkSettings
            {
                Site = siteNames[0],
                Hubs = [.. (parse.GetValue(hubs) ?? []).Select(h => new Uri(h))],
                Prefix = prefixValue,
                Password = ReadPassword(parse.GetValue(passwordFile)),
                CaFile = parse.GetValue(caFile)?.FullName,
                StoreDir = parse.GetValue(storeDir) ?? NatsLinkSettings.DefaultStoreDir,
            });
        }));
        return command;
    }

    private static Option<string> SiteOption() =>
        new("--site") { Description = "Site name: lower-case letters, digits and '-' (required)" };

    private static Option<FileInfo> PasswordFileOption() =>
        new("--password-file") { Description = "File holding the site's password at the hub" };

    private static Option<string> PrefixOption() =>
        new("--prefix") { Description = "Topic prefix at the sites [default: edge]" };

    private static string Required(string? value, string option) =>
        string.IsNullOrEmpty(value) ? throw new ArgumentException($"{option} is required.") : value;

    private static string? ReadPassword(FileInfo? file) =>
        file is null ? null : File.ReadAllText(file.FullName).TrimEnd('\r', '\n');

    /// <summary>Prints the configuration, or the reason there is none as a clear error (exit code 2).</summary>
    private static int Print(Func<string> render)
    {
        try
        {
            Console.Out.Write(render());
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException or IOException)
        {
            Console.Error.WriteLine($"edge-events link: {ex.Message}");
            return 2;
        }
    }
}
