using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static EdgeEvents.Dashboard.Tests.DashboardOnMosquitto_Tests;
using static Microsoft.Playwright.Assertions;

namespace EdgeEvents.Dashboard.Tests;

/// <summary>
/// <c>edge-events dashboard --fleet</c> pointed at a hub: sites with their states, their cameras, one event feed,
/// questions to a chosen site.
/// </summary>
public sealed class FleetDashboard_Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_fleet_page_shows_each_site_with_its_state_cameras_and_events_and_asks_the_chosen_site()
    {
        await using var hub =
            await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0, WebSocketPort = 0 }, NullLogger.Instance);
        await using var sites = await TestTransports.ConnectAsync(hub.Url, component: "sites");
        var fleet = new FleetTopics();
        var plantA = fleet.ForSite("plant-a");
        var plantB = fleet.ForSite("plant-b");
        var plantAStatus = new SiteStatus { Site = "plant-a", State = SiteStates.Online, Link = LinkStates.Up };
        await sites.PublishAsync(Json(FleetTopics.SiteStatus("plant-a"), plantAStatus) with { Retain = true }, default);
        var plantBStatus = new SiteStatus { Site = "plant-b", State = SiteStates.Offline, Link = LinkStates.Down };
        await sites.PublishAsync(Json(FleetTopics.SiteStatus("plant-b"), plantBStatus) with { Retain = true }, default);
        var twoPeople = new SceneState { Camera = "cam1", Counts = new Dictionary<string, int> { ["person"] = 2 } };
        await sites.PublishAsync(Json(plantA.Scene("cam1"), twoPeople) with { Retain = true }, default);
        var snapshot = new OutgoingMessage(plantA.Snapshots("cam1"), SmallJpeg(TestData.Sample("bus.jpg"), width: 270))
        {
            ContentType = ContentTypes.Jpeg, Retain = true
        };
        await sites.PublishAsync(snapshot, default);
        // Plant A's LLM worker, as its bridge shows it at the hub: questions in, answers back on the asker's topic.
        await using var questions =
            await sites.SubscribeAsync(new SubscriptionRequest(plantA.AllOf(TopicKind.Questions)), default);

        await using var dashboard = CliProcess.StartEdgeEvents("dashboard", "--fleet", "--http-port", "0",
            "--broker-ws", hub.WebSocketUrl!);
        var url = dashboard.WaitForLine(l => l.StartsWith("http://", StringComparison.Ordinal), Timeout);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.Browser.NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"browser console {message.Type}: {message.Text}");
        await page.GotoAsync(url + "?asker=operator");

        await Expect(page.GetByTestId("connection"))
            .ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 20_000 });
        await Expect(page.Locator("[data-site=plant-a]")).ToHaveAttributeAsync("data-state", "online");
        await Expect(page.Locator("[data-site=plant-b]")).ToHaveAttributeAsync("data-state", "offline");
        var camera = page.Locator("[data-camera='plant-a/cam1']");
        await Expect(camera.GetByTestId("counts")).ToHaveTextAsync("person 2");
        await page.WaitForFunctionAsync(
            "() => document.querySelector(\"[data-camera='plant-a/cam1'] [data-testid=snapshot]\")" +
            "?.naturalWidth === 270");

        var dog = new SceneEvent { Camera = "cam2", Type = SceneEventTypes.New, TrackId = "cam2-1-1", Label = "dog" };
        await sites.PublishAsync(Json(plantB.Events("cam2"), dog), default);
        var row = page.GetByTestId("event");
        await Expect(row.GetByTestId("event-site")).ToHaveTextAsync("plant-b");
        await Expect(row).ToContainTextAsync("cam2newdog #1");

        await AskPlantAAsync(page, questions, sites);
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = HeadlessChromium.Artifact("fleet-dashboard.png"), FullPage = true
        });
    }

    /// <summary>
    /// The page (asking as <c>operator</c>) asks site plant-a; the question arrives on <paramref name="questions"/> and
    /// is answered on <paramref name="sites"/> as plant-a's LLM worker would, and the answer shows on the page.
    /// </summary>
    internal static async Task AskPlantAAsync(IPage page, IMessageSubscription questions, IMessageTransport sites)
    {
        var plantA = new FleetTopics().ForSite("plant-a");
        await page.GetByTestId("question-site").SelectOptionAsync("plant-a");
        await page.GetByTestId("question-input").FillAsync("How many people?");
        await page.GetByTestId("ask-button").ClickAsync();
        var asked = (await Receive.ExactlyAsync(questions, 1, Timeout))[0];
        Assert.Equal(plantA.Questions("operator"), asked.Topic);
        var question = MessageCodec.Deserialize<Question>(asked.Payload, ContentTypes.Json);
        Assert.Null(question.ReplyTo);
        var answer = new Answer
        {
            Id = Answer.IdFor("operator", question.Id), QuestionId = question.Id, Question = question.Text,
            Asker = "operator", FactsAnswer = "There are 2 people on cam1."
        };
        await sites.PublishAsync(Json(plantA.Answers("operator"), answer), default);
        await Expect(page.GetByTestId("answer").GetByTestId("answer-text"))
            .ToHaveTextAsync("There are 2 people on cam1.", new() { Timeout = 20_000 });
    }
}
