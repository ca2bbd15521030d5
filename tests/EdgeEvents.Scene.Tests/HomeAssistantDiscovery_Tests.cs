using System.Text;
using System.Text.Json.Nodes;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene.HomeAssistant;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace EdgeEvents.Scene.Tests;

public sealed class HomeAssistantDiscovery_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> Enabled(string retireAfter = "1d") => new()
    {
        ["HomeAssistant:Enabled"] = "true", ["HomeAssistant:RetireAfter"] = retireAfter,
    };

    [Fact]
    public async Task Each_camera_becomes_a_device_whose_configs_follow_the_schema_and_whose_templates_read_the_state_topics()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Mosquitto);
        await using var host = await SceneHost.StartAsync(broker.Url, settings: Enabled());
        await using var states = await host.SubscribeAsync("edge/+/ha-cam");

        var start = DateTimeOffset.UtcNow;
        for (var frame = 0; frame < 6; frame++)
            await host.PublishAsync(Synthetic.Frame(start, "ha-cam", frame,
                Synthetic.Person(100, 100), Synthetic.Person(400, 100), Synthetic.Object("traffic light", 300, 300)));

        // What Home Assistant gets when it subscribes: the retained configs, from a connection of its own.
        var configs = await RetainedConfigsAsync(broker.Url, "ha-cam", expected: 5);
        Assert.Equal(
            [
                "homeassistant/binary_sensor/edgeevents_ha-cam/occupancy/config",
                "homeassistant/camera/edgeevents_ha-cam/snapshot/config",
                "homeassistant/sensor/edgeevents_ha-cam/last_event/config",
                "homeassistant/sensor/edgeevents_ha-cam/person_count/config",
                "homeassistant/sensor/edgeevents_ha-cam/traffic_light_count/config",
            ],
            configs.Keys.Order());
        foreach (var (topic, config) in configs)
        {
            Assert.Empty(HomeAssistantSchema.Check(topic, config, "homeassistant", out _));
            Assert.Equal("edgeevents_edge_ha-cam", (string?)config["device"]!["identifiers"]![0]);
            Assert.Equal(["edge/status/scene", "edge/status/ha-cam"],
                config["availability"]!.AsArray().Select(a => (string)a!["topic"]!));
        }
        Assert.Equal(5, configs.Values.Select(c => (string)c["unique_id"]!).Distinct().Count());
        Assert.Equal("edge/snapshots/ha-cam",
            (string?)configs["homeassistant/camera/edgeevents_ha-cam/snapshot/config"]["topic"]);
        Assert.Equal("measurement",
            (string?)configs["homeassistant/sensor/edgeevents_ha-cam/person_count/config"]["state_class"]);

        // The state topics carry what the templates read: every path resolves on the latest real payload.
        var latest = new Dictionary<string, JsonNode>();
        var deadline = DateTime.UtcNow + Timeout;
        while ((!latest.ContainsKey("edge/scene/ha-cam") || !latest.ContainsKey("edge/events/ha-cam")
                || latest["edge/scene/ha-cam"]["counts"]?["traffic light"] is null) && DateTime.UtcNow < deadline)
        {
            using var wait = new CancellationTokenSource(Timeout);
            var message = await states.Messages.ReadAsync(wait.Token);
            if (message.Topic is not ("edge/scene/ha-cam" or "edge/events/ha-cam")) continue;
            latest[message.Topic] = JsonNode.Parse(message.Payload.Span)!;
        }
        foreach (var (topic, config) in configs.Where(c => c.Value["value_template"] is not null))
        {
            var payload = latest[(string)config["state_topic"]!];
            var paths = JinjaPaths.Evaluate((string)config["value_template"]!, payload);
            Assert.NotEmpty(paths);
            foreach (var path in paths)
            {
                output.WriteLine($"{topic}: {path.Path} = {path.Value?.ToJsonString() ?? "(absent)"}");
                Assert.True(path.Value is not null || path.HasDefault,
                    $"{topic}: {path.Path} is not in {payload.ToJsonString()}");
            }
        }
        var scene = latest["edge/scene/ha-cam"];
        var personCountTemplate =
            (string)configs["homeassistant/sensor/edgeevents_ha-cam/person_count/config"]["value_template"]!;
        var personCount = JinjaPaths.Evaluate(personCountTemplate, scene);
        Assert.Equal(2, (int)Assert.Single(personCount).Value!);
        var lightCountTemplate =
            (string)configs["homeassistant/sensor/edgeevents_ha-cam/traffic_light_count/config"]["value_template"]!;
        var lightCount = JinjaPaths.Evaluate(lightCountTemplate, scene);
        Assert.Equal(1, (int)Assert.Single(lightCount).Value!);
    }

    [Fact]
    public void The_schema_check_and_the_template_paths_catch_what_Home_Assistant_would_refuse_or_read_as_nothing()
    {
        var config = new JsonObject
        {
            ["name"] = "Count", ["unique_id"] = "u1", ["stat_topic"] = "edge/scene/c1", ["state_class"] = "measurment",
            ["device"] = new JsonObject { ["name"] = "c1" },
        };
        var errors = HomeAssistantSchema.Check("homeassistant/sensor/edgeevents_c1/count/config", config,
            "homeassistant", out _);
        Assert.Equal(
            [
                "homeassistant/sensor/edgeevents_c1/count/config: required 'state_topic' missing",
                "homeassistant/sensor/edgeevents_c1/count/config: 'stat_topic' is not a sensor key",
                "homeassistant/sensor/edgeevents_c1/count/config: device needs identifiers or connections",
                "homeassistant/sensor/edgeevents_c1/count/config: state_class 'measurment'",
            ],
            errors);
        Assert.Single(
            HomeAssistantSchema.Check("homeassistant/sensor/c1 count/config", config, "homeassistant", out _));

        var scene = JsonNode.Parse("""{"camera":"c1","counts":{"person":2}}""")!;
        var paths = JinjaPaths.Evaluate("{{ value_json.count.person }} {{ value_json.counts['car'] | default(0) }}",
            scene);
        Assert.Equal([("value_json.count.person", false), ("value_json.counts['car']", true)],
            paths.Select(p => (p.Path, p.HasDefault)));
        Assert.All(paths, p => Assert.Null(p.Value));
    }

    [Fact]
    public async Task A_retired_camera_leaves_no_discovery_config_behind()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Mosquitto);
        await using var host = await SceneHost.StartAsync(broker.Url, settings: Enabled(retireAfter: "2s"));
        var start = DateTimeOffset.UtcNow;
        for (var frame = 0; frame < 4; frame++)
            await host.PublishAsync(Synthetic.Frame(start, "old-cam", frame, Synthetic.Person(100, 100)));
        Assert.Equal(4, (await RetainedConfigsAsync(broker.Url, "old-cam", expected: 4)).Count);

        // No more detections: after RetireAfter each config topic gets an empty retained message, which deletes it.
        var deadline = DateTime.UtcNow + Timeout;
        Dictionary<string, JsonObject> left;
        do
        {
            await Task.Delay(500);
            left = await RetainedConfigsAsync(broker.Url, "old-cam", expected: 0);
        }
        while (left.Count > 0 && DateTime.UtcNow < deadline);
        Assert.Empty(left);
    }

    [Theory]
    [InlineData("home+assistant")]
    [InlineData("home assistant")]
    [InlineData("/homeassistant")]
    [InlineData("ha/#")]
    [InlineData("")]
    public async Task A_discovery_prefix_that_is_not_a_plain_topic_is_refused_at_start(string prefix)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:Broker"] = "mqtt://127.0.0.1:1", ["HomeAssistant:Enabled"] = "true",
            ["HomeAssistant:DiscoveryPrefix"] = prefix,
        });
        builder.Services.AddSceneWorker(builder.Configuration);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        output.WriteLine(error.Message);
        Assert.Contains($"HomeAssistant:DiscoveryPrefix '{prefix}' is not a usable topic prefix", error.Message);
    }

    /// <summary>
    /// The retained discovery configs of one camera, as a fresh subscriber (Home Assistant starting) receives them:
    /// subscribes again until <paramref name="expected"/> are retained (or, for 0, takes one look).
    /// </summary>
    private static async Task<Dictionary<string, JsonObject>> RetainedConfigsAsync(string brokerUrl, string camera,
        int expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            await using var client = await TestTransports.ConnectAsync(brokerUrl, component: $"ha-{Guid.NewGuid():N}");
            await using var subscription = await client.SubscribeAsync(
                new SubscriptionRequest($"homeassistant/+/edgeevents_{camera}/+/config") { Capacity = 100 }, default);
            var configs = new Dictionary<string, JsonObject>();
            // Retained messages arrive right after subscribing; a quiet second means all are in.
            foreach (var message in await Receive.UntilQuietAsync(subscription.Messages, TimeSpan.FromSeconds(1)))
                if (message.Retained && message.Payload.Length > 0)
                    configs[message.Topic] = JsonNode.Parse(Encoding.UTF8.GetString(message.Payload.Span))!.AsObject();
            if (configs.Count >= expected || expected == 0) return configs;
            Assert.True(DateTime.UtcNow < deadline,
                $"{configs.Count} of {expected} configs retained: {string.Join(", ", configs.Keys)}");
        }
    }
}
