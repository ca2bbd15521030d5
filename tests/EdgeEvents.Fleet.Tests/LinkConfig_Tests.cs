using EdgeEvents.Cli.Links;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;

namespace EdgeEvents.Fleet.Tests;

/// <summary>The text <c>edge-events link</c> prints, line by line where a line carries a guarantee.</summary>
public sealed class LinkConfig_Tests
{
    private static readonly MosquittoLinkSettings Mosquitto = new() { Site = "plant-a", Hub = BrokerAddress.Parse("mqtt://hub.example:1883"), Password = "s3cret" };

    [Fact]
    public void The_mosquitto_bridge_keeps_a_persistent_session_at_qos_1_and_maps_the_prefix_both_ways()
    {
        var lines = MosquittoLink.SiteConfig(Mosquitto).Split('\n', StringSplitOptions.TrimEntries);
        string[] expected =
        [
            "persistence true", "autosave_on_changes true", "autosave_interval 1", "max_queued_messages 100000",
            "connection hub-plant-a", "address hub.example:1883", "bridge_protocol_version mqttv311", "clientid bridge-plant-a", "cleansession false",
            "remote_username plant-a", "remote_password s3cret",
            "notifications true", "notification_topic sites/plant-a/link",
            "topic events/# out 1 edge/ sites/plant-a/edge/", "topic scene/# out 1 edge/ sites/plant-a/edge/",
            "topic status/# out 1 edge/ sites/plant-a/edge/", "topic errors/# out 1 edge/ sites/plant-a/edge/",
            "topic answers/# out 1 edge/ sites/plant-a/edge/", "topic stats/# out 0 edge/ sites/plant-a/edge/",
            "topic snapshots/# out 0 edge/ sites/plant-a/edge/",
            "topic questions/# in 1 edge/ sites/plant-a/edge/", "topic control/# in 1 edge/ sites/plant-a/edge/",
        ];
        foreach (var line in expected) Assert.Contains(line, lines);
        Assert.DoesNotContain(lines, l => l.Contains("frames") || l.Contains("detections"));
        Assert.True(Array.IndexOf(lines, "max_queued_messages 100000") < Array.IndexOf(lines, "connection hub-plant-a"), "Global settings must come before the connection block.");
    }

    [Fact]
    public void Frames_and_detections_cross_only_when_asked_and_a_tls_hub_gets_its_ca()
    {
        var text = MosquittoLink.SiteConfig(Mosquitto with { Hub = BrokerAddress.Parse("mqtts://hub.example"), CaFile = "/etc/edge/hub-ca.pem", Topics = new LinkTopics(Frames: true, Detections: true) });
        Assert.Contains("topic frames/# out 0 edge/ sites/plant-a/edge/", text);
        Assert.Contains("topic detections/# out 0 edge/ sites/plant-a/edge/", text);
        Assert.Contains("address hub.example:8883", text);
        Assert.Contains("bridge_cafile /etc/edge/hub-ca.pem", text);
    }

    [Fact]
    public void The_hub_acl_confines_every_site_to_its_own_namespace_by_user_name()
    {
        var lines = MosquittoLink.HubAcl(["hub", "dashboard"]).Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal(["pattern write sites/%u/#", "pattern read sites/%u/edge/questions/#", "pattern read sites/%u/edge/control/#"],
            lines.Where(l => l.StartsWith("pattern", StringComparison.Ordinal)));
        Assert.Equal(["user hub", "topic readwrite #", "", "user dashboard", "topic readwrite #"], lines.SkipWhile(l => !l.StartsWith("user", StringComparison.Ordinal)).Take(5));
    }

    [Theory]
    [InlineData("Plant-A")]
    [InlineData("plant_a")]
    [InlineData("")]
    public void A_bad_site_name_is_a_clear_error(string site)
    {
        var error = Assert.Throws<ArgumentException>(() => MosquittoLink.SiteConfig(Mosquitto with { Site = site }));
        Assert.Contains("lower-case letters, digits and '-'", error.Message);
        Assert.Throws<ArgumentException>(() => NatsLink.SiteConfig(new NatsLinkSettings { Site = site, Hubs = [new Uri("nats-leaf://hub:7422")] }));
    }

    [Fact]
    public void A_nats_hub_url_is_refused_for_a_mosquitto_bridge() =>
        Assert.Contains("not an MQTT broker", Assert.Throws<ArgumentException>(() => MosquittoLink.SiteConfig(Mosquitto with { Hub = BrokerAddress.Parse("nats://hub:4222") })).Message);

    [Fact]
    public void The_nats_site_runs_jetstream_in_its_own_domain_and_leafs_into_every_hub_server()
    {
        var text = NatsLink.SiteConfig(new NatsLinkSettings
        {
            Site = "plant-a", Password = "p@ss", Hubs = [new Uri("nats-leaf://hub-1:7422"), new Uri("nats-leaf://hub-2:7422")],
        });
        Assert.Contains("server_name: site-plant-a", text);
        Assert.Contains("jetstream { store_dir: \"/var/lib/nats/jetstream\", domain: plant-a }", text);
        Assert.Contains("urls: [\"nats-leaf://plant-a:p%40ss@hub-1:7422\", \"nats-leaf://plant-a:p%40ss@hub-2:7422\"]", text);
        // Stored kinds cross only through the hub streams' sources, so they keep the site streams' order; questions
        // come down only through the site stream's source of the hub's question stream.
        Assert.Contains("deny_exports: [\"edge.events.>\", \"edge.errors.>\", \"edge.answers.>\", \"edge.scene.>\", \"edge.status.>\", " +
            "\"edge.snapshots.>\", \"edge.questions.>\"]", text);
        Assert.Contains("deny_imports: [\"edge.questions.>\"]", text);
    }

    [Fact]
    public void The_nats_hub_gives_each_site_an_account_whose_subjects_appear_under_its_name_only()
    {
        var text = NatsLink.HubAccounts(["plant-a", "store-2"], s => $"\"{s}-pw\"", [("hub", "\"h\"")]);
        Assert.Contains("SITE_PLANT_A: {", text);
        Assert.Contains("users: [{user: plant-a, password: \"plant-a-pw\"}]", text);
        Assert.Contains("{stream: {account: SITE_PLANT_A, subject: \"sites.plant-a.edge.events.>\"}}", text);
        Assert.Contains("{stream: {account: SITE_STORE_2, subject: \"edge.stats.>\"}, prefix: \"sites.store-2\"}", text);
        Assert.Contains("{stream: {account: HUB, subject: \"sites.plant-a.edge.questions.>\"}, to: \"edge.questions.>\"}", text);
        Assert.DoesNotContain("edge.frames", text);
    }

    [Fact]
    public void The_nats_hub_stream_sources_the_sites_stream_and_republishes_under_the_site_name()
    {
        var config = System.Text.Json.JsonDocument.Parse(NatsLink.HubStreamConfig("plant-a", NatsLink.HubStream, replicas: 3)).RootElement;
        Assert.Equal("FROM_SITE", config.GetProperty("name").GetString());
        Assert.Equal(3, config.GetProperty("num_replicas").GetInt32());
        Assert.Equal("$JS.plant-a.API", config.GetProperty("sources")[0].GetProperty("external").GetProperty("api").GetString());
        Assert.Equal("EDGE", config.GetProperty("sources")[0].GetProperty("name").GetString());
        Assert.Equal("sites.plant-a.edge.>", config.GetProperty("republish").GetProperty("dest").GetString());
        var retainedText = NatsLink.HubStreamConfig("plant-a", NatsLink.RetainedHubStream, replicas: 3);
        var retained = System.Text.Json.JsonDocument.Parse(retainedText).RootElement;
        Assert.Equal("EDGE_RETAINED", retained.GetProperty("sources")[0].GetProperty("name").GetString());
        Assert.Equal(1, retained.GetProperty("max_msgs_per_subject").GetInt32());
    }

    [Fact]
    public void The_nats_hub_keeps_a_sites_questions_for_its_stream_to_source_through_the_hub_domain()
    {
        var text = NatsLink.HubStreamConfig("plant-a", NatsLink.QuestionsStream, replicas: 3);
        var config = System.Text.Json.JsonDocument.Parse(text).RootElement;
        Assert.Equal("TO_SITE", config.GetProperty("name").GetString());
        Assert.Equal("edge.questions.>", Assert.Single(config.GetProperty("subjects").EnumerateArray()).GetString());
        Assert.Equal(3, config.GetProperty("num_replicas").GetInt32());
        Assert.Equal(
            [new("Transport:Nats:JetStream:Sources:0:Stream", "TO_SITE"), new("Transport:Nats:JetStream:Sources:0:Domain", "hub")],
            NatsLink.SiteTransportSettings());
        var unknown = Assert.Throws<ArgumentException>(() => NatsLink.HubStreamConfig("plant-a", "OTHER", 1));
        Assert.Contains("FROM_SITE, FROM_SITE_RETAINED, TO_SITE", unknown.Message);
    }

    [Fact]
    public async Task The_cli_prints_the_bridge_and_refuses_a_bad_site_with_exit_code_2()
    {
        await using (var ok = CliProcess.StartEdgeEvents("link", "mosquitto", "--site", "plant-a", "--hub", "mqtt://hub.example:1883"))
        {
            Assert.Equal(0, await ok.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("notification_topic sites/plant-a/link", ok.OutputSoFar);
        }
        await using (var settings = CliProcess.StartEdgeEvents("link", "nats", "--site", "plant-a", "--site-settings", "--hub-domain", "central"))
        {
            Assert.Equal(0, await settings.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("EDGEEVENTS_Transport__Nats__JetStream__Sources__0__Domain=central", settings.OutputSoFar);
        }
        await using var bad = CliProcess.StartEdgeEvents("link", "nats", "--site", "Plant_A", "--hub", "nats-leaf://hub:7422");
        Assert.Equal(2, await bad.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Site name 'Plant_A' is not valid", bad.StandardError);
    }
}
