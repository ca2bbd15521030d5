using System.Net;
using System.Text.RegularExpressions;
using EdgeEvents.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EdgeEvents.Dashboard.Tests;

/// <summary>The real <c>edge-events demo</c> process and its dashboard page in headless Chromium.</summary>
public sealed class Dashboard_Tests(ITestOutputHelper output)
{
    private const string Question = "How many people do you see?";

    [Fact]
    public async Task The_demo_dashboard_connects_and_shows_a_snapshot_events_and_the_answer_to_a_question_typed_into_it()
    {
        var (webSocketPort, httpPort) = (FreePort.Next(), FreePort.Next());
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var demo = CliProcess.StartEdgeEvents("demo", "--duration", "150s", "--port", "0",
            "--ws-port", $"{webSocketPort}", "--http-port", $"{httpPort}",
            "--model", TestData.Model("yolov8n_int8_dynamic.onnx"), "--llm-model", TestData.Model("stories260K.gguf"));

        // The printed URL is the real one: the page is served there and the broker's WebSocket port is the one asked
        // for.
        var announcement = demo.WaitForLine(l => l.Contains("Live dashboard:"), TimeSpan.FromSeconds(60));
        var printed = Regex.Match(announcement, @"open (\S+) in a browser").Groups[1].Value;
        Assert.Equal($"http://127.0.0.1:{httpPort}/", printed);
        Assert.Contains($"(WebSockets ws://127.0.0.1:{webSocketPort}/mqtt)", string.Join('\n', demo.OutputSoFar));

        var page = await chromium.Browser.NewPageAsync(
            new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.Console += (_, message) => output.WriteLine($"browser console {message.Type}: {message.Text}");
        await page.GotoAsync(printed);
        await Expect(page.GetByTestId("connection"))
            .ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 20_000 });
        await Expect(page.GetByTestId("broker-url")).ToHaveTextAsync($"ws://127.0.0.1:{webSocketPort}/mqtt");

        // The detector's annotated snapshot: a retained JPEG on edge/snapshots/cam1, decoded by the browser.
        try
        {
            await page.WaitForFunctionAsync("""
                () => [...document.querySelectorAll('[data-camera=cam1] [data-testid=snapshot]')]
                    .some(i => !i.hidden && i.complete && i.naturalWidth > 0)
                """, null, new() { Timeout = 60_000 });
        }
        catch (TimeoutException)
        {
            Assert.Fail("No annotated snapshot of cam1 was shown within 60 s: " +
                "the demo's detector publishes a retained JPEG on edge/snapshots/cam1.");
        }
        await Expect(page.GetByTestId("event").First).ToContainTextAsync("cam1", new() { Timeout = 60_000 });
        await Expect(page.Locator("[data-camera=cam1] [data-testid=object]").First)
            .ToBeVisibleAsync(new() { Timeout = 30_000 });

        await page.GetByTestId("question-input").FillAsync(Question);
        await page.GetByTestId("ask-button").ClickAsync();
        var answer = page.Locator("[data-testid=answer][data-state=answered]").Filter(new() { HasText = Question });
        await Expect(answer).ToHaveCountAsync(1, new() { Timeout = 90_000 });
        var status = await answer.GetAttributeAsync("data-status");
        var text = await answer.GetByTestId("answer-text").InnerTextAsync();
        output.WriteLine($"answer [{status}]: {text}");
        Assert.Matches("^(ok|timeout|error)$", status);
        Assert.Matches(@"There (is|are) (no|\d+) \w+", text);

        var screenshot = HeadlessChromium.Artifact("dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"dashboard screenshot: {screenshot}");

        // The same question, seen by the demo's own view: one broker behind both.
        demo.WaitForLine(l => Regex.IsMatch(l, @"answer to dashboard-\w+ \["), TimeSpan.FromSeconds(10));
        demo.Interrupt();
        Assert.Equal(0, await demo.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var terminal = HeadlessChromium.Artifact("demo-terminal.png");
        await ScreenshotTerminalAsync(chromium.Browser, demo.OutputSoFar, terminal);
        output.WriteLine($"demo terminal screenshot: {terminal}");
    }

    /// <summary>The demo's stdout as it was printed, in a terminal-like page, as a picture for the README.</summary>
    private static async Task ScreenshotTerminalAsync(IBrowser browser, IEnumerable<string> lines, string path)
    {
        var page = await browser.NewPageAsync(
            new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 400 } });
        var text = WebUtility.HtmlEncode(string.Join('\n', lines));
        await page.SetContentAsync($"""
            <body style="margin:0;background:#1e1e1e">
            <pre style="margin:0;padding:12px 16px;color:#e6e6e6;
              font:13px/1.35 'DejaVu Sans Mono',monospace;white-space:pre">{text}</pre></body>
            """);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
    }
}
