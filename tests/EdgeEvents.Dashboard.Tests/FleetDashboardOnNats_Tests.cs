using System.Text;
using System.Text.Json;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Fleet;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Nats;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static EdgeEvents.Dashboard.Tests.DashboardOnMosquitto_Tests;
using static Microsoft.Playwright.Assertions;

namespace EdgeEvents.Dashboard.Tests;

/// <summary>
/// <c>edge-events dashboard --fleet --relay-port</c> at a NATS hub (nats-server with JetStream, which has no MQTT over
/// WebSockets): the dashboard relays the hub to the page, retained state from the hub's retained stream included.
/// </summary>
public sealed class FleetDashboardOnNats_Tests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly LocatorAssertionsToHaveAttributeOptions Within = new() { Timeout = 20_000 };

    /// <summary>The hub's retained stream as manifests/fleet/hub configures it for every hub component.</summary>
    private static readonly string[] HubRetainedSubjects =
    [
        "edge.scene.>", "edge.snapshots.>", "edge.status.>", "fleet.>",
        "sites.*.edge.scene.>", "sites.*.edge.snapshots.>", "sites.*.edge.status.>",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("hub-dashboard-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_fleet_page_relayed_from_a_nats_hub_shows_the_retained_fleet_at_once_and_asks_the_chosen_site()
    {
        await using var hub = await NatsServer.StartNewAsync();
        var hubNats = new NatsOptions
        {
            JetStream = new NatsJetStreamOptions { RetainedSubjects = HubRetainedSubjects }
        };
        // Connected first, so the hub's streams exist before the sites publish.
        await using var observer = await hub.ConnectAsync("observer", hubNats);
        var fleetSettings = new Dictionary<string, string?>
        {
            ["Stats:Interval"] = "0s",
            ["Fleet:Sites:0"] = "plant-a",
            ["Fleet:Sites:1"] = "plant-b",
            // Republished only when a state changes: what a page connecting later shows comes from the retained stream.
            ["Fleet:PublishInterval"] = "00:10:00",
        };
        for (var i = 0; i < HubRetainedSubjects.Length; i++)
            fleetSettings[$"Transport:Nats:JetStream:RetainedSubjects:{i}"] = HubRetainedSubjects[i];
        using var fleetHost = await WorkerHost.StartHostAsync(hub.Url, builder =>
        {
            builder.AddEdgeServiceDefaults(FleetWorker.Component);
            builder.Services.AddFleetWorker(builder.Configuration);
        }, fleetSettings);

        // The sites as their leaf links deliver them at the hub: plain NATS publishes under sites.{S}.
        await using var sites = await hub.ConnectAsync("sites", new NatsOptions { JetStream = null });
        var fleet = new FleetTopics();
        var plantA = fleet.ForSite("plant-a");
        var plantB = fleet.ForSite("plant-b");
        await using var states =
            await observer.SubscribeAsync(new SubscriptionRequest(FleetTopics.SiteStatus("plant-a")), default);
        var twoPeople = new SceneState { Camera = "cam1", Counts = new Dictionary<string, int> { ["person"] = 2 } };
        await sites.PublishAsync(Json(plantA.Scene("cam1"), twoPeople) with { Retain = true }, default);
        var snapshot = new OutgoingMessage(plantA.Snapshots("cam1"), SmallJpeg(TestData.Sample("bus.jpg"), width: 270))
        {
            ContentType = ContentTypes.Jpeg, Retain = true
        };
        await sites.PublishAsync(snapshot, default);
        // The site's detector says it is online until the fleet component (subscribing in the background) has heard it.
        var onlinePayload = Encoding.UTF8.GetBytes(StatusPayloads.Online);
        var detectorOnline = new OutgoingMessage(plantA.Status("detector"), onlinePayload)
        {
            ContentType = "text/plain", Retain = true
        };
        await WaitForStateAsync(states, SiteStates.Online, () => sites.PublishAsync(detectorOnline, default));

        await using var dashboard = await StartDashboardAsync(hub);
        var url = dashboard.WaitForLine(l => l.StartsWith("http://", StringComparison.Ordinal), Timeout);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await OpenAsync(chromium, url);

        await Expect(page.Locator("[data-site=plant-a]")).ToHaveAttributeAsync("data-state", "online", Within);
        await Expect(page.Locator("[data-site=plant-b]")).ToHaveAttributeAsync("data-state", "offline", Within);
        var camera = page.Locator("[data-camera='plant-a/cam1']");
        await Expect(camera.GetByTestId("counts")).ToHaveTextAsync("person 2", new() { Timeout = 20_000 });
        await page.WaitForFunctionAsync(
            "() => document.querySelector(\"[data-camera='plant-a/cam1'] [data-testid=snapshot]\")" +
            "?.naturalWidth === 270",
            null, new() { Timeout = 20_000 });
        await Expect(page.Locator("[data-component='plant-a/detector']"))
            .ToHaveAttributeAsync("data-state", "online", Within);

        var dog = new SceneEvent { Camera = "cam2", Type = SceneEventTypes.New, TrackId = "cam2-1-1", Label = "dog" };
        await sites.PublishAsync(Json(plantB.Events("cam2"), dog), default);
        var row = page.GetByTestId("event");
        await Expect(row.GetByTestId("event-site")).ToHaveTextAsync("plant-b", new() { Timeout = 20_000 });
        await Expect(row).ToContainTextAsync("cam2newdog #1");

        // Plant A's LLM worker, as its leaf link shows it at the hub: questions in, answers back on the asker's topic.
        await using var questions =
            await observer.SubscribeAsync(new SubscriptionRequest(plantA.AllOf(TopicKind.Questions)), default);
        await FleetDashboard_Tests.AskPlantAAsync(page, questions, sites);
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = HeadlessChromium.Artifact("fleet-dashboard-nats.png"), FullPage = true
        });

        // A browser may publish questions only: anything else is refused, not relayed to the hub.
        var refusal = await page.EvaluateAsync<string>("""
            () => new Promise((resolve) => {
              const other = mqtt.connect(document.querySelector("[data-testid=broker-url]").textContent,
                { protocolVersion: 5, reconnectPeriod: 0 });
              other.on("connect", () => other.publish("fleet/sites/plant-a", "forged", { qos: 1, retain: true },
                (error) => { resolve(error ? error.message : "accepted"); other.end(); }));
              other.on("error", (error) => resolve(`connection failed: ${error.message}`));
            })
            """);
        output.WriteLine($"forged publish: {refusal}");
        Assert.NotEqual("accepted", refusal);
        Assert.DoesNotContain("connection failed", refusal, StringComparison.Ordinal);
        await Expect(page.Locator("[data-site=plant-a]")).ToHaveAttributeAsync("data-state", "online");

        // State changed while the dashboard ran is what a page opened later shows (NATS marks live copies unretained).
        var threePeople = new SceneState { Camera = "cam1", Counts = new Dictionary<string, int> { ["person"] = 3 } };
        await sites.PublishAsync(Json(plantA.Scene("cam1"), threePeople) with { Retain = true }, default);
        await Expect(camera.GetByTestId("counts")).ToHaveTextAsync("person 3", new() { Timeout = 20_000 });
        var later = await OpenAsync(chromium, url);
        await Expect(later.Locator("[data-camera='plant-a/cam1']").GetByTestId("counts"))
            .ToHaveTextAsync("person 3", new() { Timeout = 20_000 });
        await Expect(later.Locator("[data-site=plant-a]")).ToHaveAttributeAsync("data-state", "online", Within);
    }

    [Fact]
    public async Task The_page_is_served_while_the_hub_is_down_and_shows_the_fleet_once_the_hub_is_up()
    {
        await using var hub = await NatsServer.StartNewAsync();
        await hub.StopAsync();
        await using var dashboard = await StartDashboardAsync(hub);
        var url = dashboard.WaitForLine(l => l.StartsWith("http://", StringComparison.Ordinal), Timeout);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await OpenAsync(chromium, url);

        await hub.StartAsync();
        await using var fleet = await hub.ConnectAsync("fleet",
            new NatsOptions { JetStream = new NatsJetStreamOptions { RetainedSubjects = HubRetainedSubjects } });
        var status = new SiteStatus { Site = "plant-a", State = SiteStates.Online, Since = DateTimeOffset.UtcNow };
        await fleet.PublishAsync(Json(FleetTopics.SiteStatus("plant-a"), status) with { Retain = true }, default);

        await Expect(page.Locator("[data-site=plant-a]"))
            .ToHaveAttributeAsync("data-state", "online", new() { Timeout = 30_000 });
    }

    /// <summary>
    /// <c>edge-events dashboard --fleet</c> relaying <paramref name="hub"/>, configured with the hub's retained stream
    /// and a quick reconnect.
    /// </summary>
    private async Task<CliProcess> StartDashboardAsync(NatsServer hub)
    {
        var config = Path.Combine(_dir, "hub.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Transport = new
            {
                ReconnectMaxDelay = "1s", Nats = new { JetStream = new { RetainedSubjects = HubRetainedSubjects } }
            },
        }));
        return CliProcess.StartEdgeEvents("dashboard", "--fleet", "--http-port", "0", "--relay-port", "0",
            "--broker", hub.Url, "--config", config);
    }

    /// <summary>
    /// The page at <paramref name="url"/> asking as <c>operator</c>, once it is connected to the relay.
    /// </summary>
    private async Task<IPage> OpenAsync(HeadlessChromium chromium, string url)
    {
        var page = await chromium.Browser.NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"browser console {message.Type}: {message.Text}");
        await page.GotoAsync(url + "?asker=operator");
        await Expect(page.GetByTestId("connection")).ToHaveAttributeAsync("data-state", "connected", Within);
        return page;
    }

    /// <summary>Calls <paramref name="poke"/> each second until the status says <paramref name="state"/>.</summary>
    private static async Task WaitForStateAsync(IMessageSubscription states, string state, Func<ValueTask> poke)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            await poke();
            using var second = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                while (await states.Messages.WaitToReadAsync(second.Token))
                {
                    if (states.Messages.TryRead(out var message) &&
                        MessageCodec.Deserialize<SiteStatus>(message.Payload, ContentTypes.Json).State == state)
                        return;
                }
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }
}
