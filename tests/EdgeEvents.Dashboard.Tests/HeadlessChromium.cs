using Microsoft.Playwright;

namespace EdgeEvents.Dashboard.Tests;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, installed by <c>.ci/run</c>) driven by Playwright's own Node.js driver;
/// Playwright never downloads a browser here. A missing Chromium fails the test with what to install, never skips it.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath), $"Chromium is not installed at {ExecutablePath}: " +
            "the dashboard tests need it (`apt-get install chromium`, as .ci/run does).");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
        return new HeadlessChromium(playwright, browser);
    }

    /// <summary>A file under <c>artifacts/</c> beside the test binaries, where screenshots are kept.</summary>
    public static string Artifact(string fileName)
    {
        var folder = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
        return Path.Combine(folder.FullName, fileName);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
