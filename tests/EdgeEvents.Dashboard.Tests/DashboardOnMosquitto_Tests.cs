using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Playwright;
using SkiaSharp;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EdgeEvents.Dashboard.Tests;

/// <summary>
/// <c>edge-events dashboard</c> pointed at mosquitto's own WebSocket listener: the page needs no EdgeEvents broker.
/// </summary>
public sealed class DashboardOnMosquitto_Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_dashboard_command_shows_what_mosquitto_holds_and_receives_over_its_WebSocket_listener()
    {
        var webSocketPort = FreePort.Next();
        await using var mosquitto = await MosquittoBroker.StartNewAsync(
            $"allow_anonymous true\nlistener {webSocketPort} 127.0.0.1\nprotocol websockets\n");
        await using var publisher = await TestTransports.ConnectAsync(mosquitto.Url);
        var person = new SceneObject
        {
            TrackId = "cam9-20261128120000-1", Label = "person", Confidence = 0.91f, FirstSeen = DateTimeOffset.UtcNow
        };
        var scene = new SceneState
        {
            Camera = "cam9", Objects = [person], Counts = new Dictionary<string, int> { ["person"] = 1 }
        };
        await publisher.PublishAsync(Json("edge/scene/cam9", scene) with { Retain = true }, default);
        // What the detector's snapshot publisher sends: bare JPEG bytes, retained. Small, as snapshots are: mosquitto
        // 2.0.11 sends large messages over WebSockets slowly (130 KB took 3.5 s here; the 487 KB photo stalls the
        // page).
        var snapshot = new OutgoingMessage("edge/snapshots/cam9", SmallJpeg(TestData.Sample("bus.jpg"), width: 270))
        {
            ContentType = ContentTypes.Jpeg, Retain = true
        };
        await publisher.PublishAsync(snapshot, default);

        await using var dashboard = CliProcess.StartEdgeEvents("dashboard", "--http-port", "0",
            "--broker-ws", $"ws://127.0.0.1:{webSocketPort}/mqtt");
        var url = dashboard.WaitForLine(l => l.StartsWith("http://", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30));
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.Browser.NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"browser console {message.Type}: {message.Text}");
        await page.GotoAsync(url);

        await Expect(page.GetByTestId("connection"))
            .ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 20_000 });
        var camera = page.Locator("[data-camera=cam9]");
        await Expect(camera.GetByTestId("object")).ToContainTextAsync("person");
        await Expect(camera.GetByTestId("counts")).ToHaveTextAsync("person 1");
        await page.WaitForFunctionAsync(
            "() => document.querySelector('[data-camera=cam9] [data-testid=snapshot]')?.naturalWidth === 270");

        var newPerson = new SceneEvent
        {
            Camera = "cam9", Type = SceneEventTypes.New, TrackId = person.TrackId, Label = "person", After = person
        };
        await publisher.PublishAsync(Json("edge/events/cam9", newPerson), default);
        await Expect(page.GetByTestId("event")).ToContainTextAsync("cam9newperson #1");
    }

    internal static byte[] SmallJpeg(string path, int width)
    {
        using var photo = SKBitmap.Decode(path);
        using var small = photo.Resize(new SKImageInfo(width, photo.Height * width / photo.Width),
            new SKSamplingOptions(SKFilterMode.Linear));
        using var jpeg = small.Encode(SKEncodedImageFormat.Jpeg, 80);
        return jpeg.ToArray();
    }

    internal static OutgoingMessage Json<T>(string topic, T message) =>
        new(topic, MessageCodec.Serialize(message, PayloadFormat.Json)) { ContentType = ContentTypes.Json };
}
