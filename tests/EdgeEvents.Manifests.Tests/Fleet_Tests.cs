using EdgeEvents.Cli.Links;
using EdgeEvents.Manifests.Tests.Infrastructure;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace EdgeEvents.Manifests.Tests;

/// <summary>
/// The fleet's hub and site kustomizations (manifests/fleet): rendered, loaded strictly, and their broker configuration
/// accepted by nats-server.
/// </summary>
public sealed class Fleet_Tests : IDisposable
{
    private static readonly string Hub = Path.Combine("fleet", "hub");
    private static readonly string Site = Path.Combine("fleet", "site");
    private static readonly string[] Sites = ["plant-a", "plant-b"];
    private readonly string _dir = Directory.CreateTempSubdirectory("fleet-manifests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RequiresFact("kubectl")]
    public void The_hub_is_a_3_node_nats_cluster_with_jetstream_on_volumes_and_the_fleet_component()
    {
        var rendered = Rendered.Of(Hub);
        var nats = rendered.Single<V1StatefulSet>("nats");
        Assert.Equal(3, nats.Spec.Replicas);
        Assert.Equal("data", Assert.Single(nats.Spec.VolumeClaimTemplates).Metadata.Name);
        var config = rendered.All<V1ConfigMap>()
            .Single(c => c.Metadata.Name.StartsWith("nats-hub-config", StringComparison.Ordinal)).Data;
        Assert.Equal(3, config["nats.conf"].Split('\n')
            .Count(l => l.Trim().StartsWith("nats-route://", StringComparison.Ordinal)));
        Assert.Contains("domain: hub", config["nats.conf"]);
        // Every password accounts.conf reads is given to the servers from the Secret.
        var env = nats.Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name);
        foreach (var variable in new[] { "HUB_PASSWORD" }.Concat(Sites.Select(s => NatsLink.Account(s) + "_PASSWORD")))
            Assert.Equal("edgeevents-hub-credentials", env[variable].ValueFrom.SecretKeyRef.Name);

        var fleet = rendered.Workload("fleet").Pod.Containers.Single();
        Assert.Equal(["fleet"], fleet.Args);
        var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, fleet));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys).Build();
        Expect.NoProblems(WorkerOptions.Problems(configuration, "fleet"));
    }

    [RequiresFact("kubectl")]
    public void The_hub_serves_the_fleet_dashboard_relaying_the_hub_with_the_fleet_components_streams()
    {
        var rendered = Rendered.Of(Hub);
        var dashboard = rendered.Workload("dashboard").Pod.Containers.Single();
        Assert.Equal(["dashboard"], dashboard.Args);
        var keys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, dashboard));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys).Build();
        Expect.NoProblems(WorkerOptions.Problems(configuration, "dashboard"));
        Assert.Equal("true", keys["Dashboard:Fleet"]);
        Assert.Equal("0.0.0.0", keys["Dashboard:BindAddress"]);

        // The browser reaches the page and the relay through one Service, on the ports the dashboard listens on.
        var service = rendered.Single<V1Service>("dashboard");
        foreach (var key in new[] { "Dashboard:HttpPort", "Dashboard:RelayPort" })
        {
            var port = int.Parse(keys[key]!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains(dashboard.Ports, p => p.ContainerPort == port);
            Assert.Contains(service.Spec.Ports, p => PodFacts.ResolvePort(dashboard, p.TargetPort) == port);
        }

        // Each hub client creates or updates the hub's streams: the dashboard's must be the fleet component's.
        var fleet = rendered.Workload("fleet").Pod.Containers.Single();
        var fleetKeys = ContainerEnvironment.ConfigurationKeys(ContainerEnvironment.Of(rendered, fleet));
        Assert.Equal(Transport(fleetKeys), Transport(keys));
        Assert.Contains("sites.*.edge.snapshots.>", Transport(keys).Values);
    }

    private static SortedDictionary<string, string?> Transport(IReadOnlyDictionary<string, string?> keys) =>
        new(keys.Where(k => k.Key.StartsWith("Transport:", StringComparison.Ordinal)).ToDictionary(),
            StringComparer.Ordinal);

    [RequiresFact("kubectl")]
    public void The_hub_accounts_are_what_edge_events_link_nats_prints_for_its_sites()
    {
        var accounts = Rendered.Of(Hub).All<V1ConfigMap>()
            .Single(c => c.Metadata.Name.StartsWith("nats-hub-config", StringComparison.Ordinal))
            .Data["accounts.conf"];
        var generated = NatsLink.HubAccounts(Sites, s => "$" + NatsLink.Account(s) + "_PASSWORD",
            [("hub", "$HUB_PASSWORD")]);
        Assert.Equal(generated, string.Join('\n', accounts.Split('\n').Skip(1)));
    }

    [RequiresFact("kubectl", "nats-server")]
    public void Nats_server_accepts_the_hub_configuration_with_the_passwords_from_the_environment()
    {
        var config = Rendered.Of(Hub).All<V1ConfigMap>()
            .Single(c => c.Metadata.Name.StartsWith("nats-hub-config", StringComparison.Ordinal)).Data;
        foreach (var (file, text) in config)
            File.WriteAllText(Path.Combine(_dir, file), text.Replace("/data/jetstream", Path.Combine(_dir, "js")));
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin", ["POD_NAME"] = "nats-0", ["HUB_PASSWORD"] = "h"
        };
        foreach (var site in Sites) env[NatsLink.Account(site) + "_PASSWORD"] = site;

        var check = Tool.Run(Tool.Require("nats-server"), ["-c", Path.Combine(_dir, "nats.conf"), "-t"],
            environment: env);

        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
    }

    [RequiresFact("kubectl", "nats-server")]
    public void A_site_runs_the_nats_overlay_with_the_link_from_its_secret_and_nats_server_accepts_it()
    {
        var rendered = Rendered.Of(Site);
        var nats = rendered.Single<V1StatefulSet>("nats");
        var sources = nats.Spec.Template.Spec.Volumes.Single(v => v.Name == "config").Projected.Sources;
        Assert.Contains(sources,
            s => s.Secret?.Name == "edgeevents-hub-link" && s.Secret.Items.Single().Path == "link.conf");
        Assert.Contains(rendered.Workloads, w => w.Name == "scene");

        // The site's nats.conf, the authorization block, and the link as the CLI prints it.
        var configs = rendered.All<V1ConfigMap>().ToList();
        var natsConfig = configs.Single(c => c.Metadata.Name.StartsWith("nats-config", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_dir, "nats.conf"), natsConfig.Data["nats.conf"]);
        var authorization =
            configs.Single(c => c.Metadata.Name.StartsWith("nats-authorization", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_dir, "authorization.conf"), authorization.Data["authorization.conf"]);
        File.WriteAllText(Path.Combine(_dir, "link.conf"), NatsLink.SiteConfig(new NatsLinkSettings
        {
            Site = "plant-a",
            Password = "pw",
            Hubs = [new Uri("nats-leaf://hub.example:7422")],
            StoreDir = Path.Combine(_dir, "js"),
        }));
        var env = nats.Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => "x");
        env["PATH"] = "/usr/bin:/bin";

        var check = Tool.Run(Tool.Require("nats-server"), ["-c", Path.Combine(_dir, "nats.conf"), "-t"],
            environment: env);

        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
    }
}
