using EdgeEvents.Camera;
using EdgeEvents.Detector;
using EdgeEvents.Llm;
using EdgeEvents.Scene;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// The workers of one edge site in one host, as the CLI builds them, on the site's own broker: a camera on the sample
/// photos, the detector (yolov8n int8) and the scene worker, and the LLM worker (stories260K). Components publish
/// stats every 2 s, the heartbeat the hub's fleet component sees.
/// </summary>
internal sealed class SitePipeline : IAsyncDisposable
{
    private SitePipeline(IHost host) => Host = host;

    public IHost Host { get; }

    /// <param name="vision">Camera, detector and scene; without it the site runs only its LLM worker.</param>
    public static async Task<SitePipeline> StartAsync(string site, string brokerUrl, bool vision, Dictionary<string, string?>? transport = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var settings = new Dictionary<string, string?>
        {
            ["Transport:Broker"] = brokerUrl,
            ["Transport:ReconnectMinDelay"] = "00:00:00.1",
            ["Transport:ReconnectMaxDelay"] = "00:00:01",
            ["Stats:Interval"] = "2s",
            ["Stats:Log"] = "false",
            ["Llm:ModelPath"] = TestData.Model("stories260K.gguf"), ["Llm:ContextSize"] = "512", ["Llm:MaxTokens"] = "8",
            ["Llm:Threads"] = "1", ["Llm:Parallelism"] = "1",
        };
        // Client ids stay the same across a site broker's restart (persistent sessions) and differ between sites.
        foreach (var component in new[] { "camera", "detector", "scene", "llm" })
            settings[$"Transport:{component}:ClientId"] = $"{site}-{component}";
        if (vision)
        {
            settings["Camera:Id"] = "cam1";
            settings["Camera:Source"] = TestData.SamplesFolder;
            settings["Camera:Fps"] = "2";
            // Each photo for 2 s: long enough to be tracked, then the next one ends those tracks and starts others.
            settings["Camera:RepeatEach"] = "4";
            settings["Detector:ModelPath"] = TestData.Model("yolov8n_int8_dynamic.onnx");
            settings["Detector:Providers"] = "CPU";
            settings["Detector:IntraOpThreads"] = "1";
            settings["Scene:ConfirmHits"] = "2";
            settings["Scene:LostAfter"] = "00:00:01";
        }
        foreach (var (key, value) in transport ?? []) settings[key] = value;
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddEdgeServiceDefaults(site);
        if (vision)
        {
            builder.Services.AddCameraWorker(builder.Configuration);
            builder.Services.AddDetectorWorker(builder.Configuration);
            builder.Services.AddSceneWorker(builder.Configuration);
        }
        builder.Services.AddLlmWorker(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        return new SitePipeline(host);
    }

    public Task StopAsync() => Host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try { await Host.StopAsync(); } catch (OperationCanceledException) { }
        Host.Dispose();
    }
}
