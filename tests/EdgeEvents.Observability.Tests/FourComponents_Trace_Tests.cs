using System.Diagnostics;
using System.Text;
using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector;
using EdgeEvents.Llm;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Scene;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace EdgeEvents.Observability.Tests;

/// <summary>
/// The acceptance test of issue 7: one real frame through the real detector, scene and LLM workers (each in its own
/// host, as the CLI builds them) is one trace from the camera's capture to the LLM's receipt of the scene state, and
/// the answer grounded on that scene links to it.
/// </summary>
public sealed class FourComponents_Trace_Tests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly List<Activity> _spans = [];
    private readonly TracerProvider _tracing;

    public FourComponents_Trace_Tests() => _tracing = Sdk.CreateTracerProviderBuilder()
        .AddSource($"{EdgeTelemetry.Name}.*")
        .SetSampler(new AlwaysOnSampler())
        .AddInMemoryExporter(_spans)
        .Build()!;

    public void Dispose() => _tracing.Dispose();

    [Fact]
    public async Task A_frame_through_camera_detector_scene_and_llm_is_one_trace_and_the_answer_links_to_it()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var observer = await TestTransports.ConnectAsync(broker.Url, component: "observer");
        await using var camera = await TestTransports.ConnectAsync(broker.Url, component: "camera");
        await using var status = await observer.SubscribeAsync(new SubscriptionRequest("edge/status/+"), default);
        await using var sceneStates =
            await observer.SubscribeAsync(new SubscriptionRequest("edge/scene/cam1"), default);

        var llm = await StartAsync(broker.Url, "llm", (s, c) => s.AddLlmWorker(c), new()
        {
            ["Llm:ModelPath"] = TestData.Model("stories260K.gguf"), ["Llm:ContextSize"] = "512",
            ["Llm:MaxTokens"] = "8",
            ["Llm:Threads"] = "2", ["Llm:Parallelism"] = "1",
        });
        await using var _llm = Stopping(llm);
        var scene = await StartAsync(broker.Url, "scene", (s, c) => s.AddSceneWorker(c), new()
        {
            ["Scene:ConfirmHits"] = "1", ["Scene:PublishInterval"] = "00:00:00",
        });
        await using var _scene = Stopping(scene);
        var detector = await StartAsync(broker.Url, "detector", (s, c) => s.AddDetectorWorker(c), new()
        {
            ["Detector:ModelPath"] = TestData.Model("yolov8n_int8_dynamic.onnx"), ["Detector:Providers"] = "CPU",
            ["Detector:WarmupRuns"] = "1",
        });
        await using var _detector = Stopping(detector);
        await llm.Services.GetRequiredService<LlmWorker>().Ready.WaitAsync(Timeout);
        await WaitOnlineAsync(status, ["detector", "scene", "llm"]);
        // The scene and LLM workers subscribe in ExecuteAsync, shortly after going online.
        await Task.Delay(500);

        // The camera: one bus.jpg frame published inside its capture span.
        var frame = new Frame
        {
            Camera = "cam1", Sequence = 1, CapturedAt = DateTimeOffset.UtcNow, Encoding = FrameEncoding.Jpeg,
            Data = await File.ReadAllBytesAsync(TestData.Sample("bus.jpg")),
        };
        using (EdgeTelemetry.StartStage("camera", "capture"))
        {
            var payload = MessageCodec.Serialize(frame, PayloadFormat.MessagePack);
            await camera.PublishAsync(new OutgoingMessage("edge/frames/cam1", payload)
            {
                ContentType = ContentTypes.MessagePack, Delivery = Delivery.AtMostOnce, MessageId = frame.Id,
            }, default);
        }

        // The scene state made from that frame's detections (retained: a stale copy from before cannot exist, the
        // broker is new).
        var state = MessageCodec.Deserialize<SceneState>(
            (await Receive.ExactlyAsync(sceneStates, 1, Timeout))[0].Payload, ContentTypes.Json);
        Assert.NotEmpty(state.Objects);
        var llmGotState = await WaitForSpanAsync(s =>
            s.Source.Name == "EdgeEvents.llm" && s.DisplayName == "receive edge/scene/cam1");

        using (EdgeTelemetry.StartStage("ask", "ask"))
        {
            var question =
                Encoding.UTF8.GetBytes("""{"id":"q-trace-1","text":"How many buses are there?","camera":"cam1"}""");
            await observer.RequestAsync(new OutgoingMessage("edge/questions/tester", question)
            {
                ContentType = ContentTypes.Json, ResponseTopic = "edge/answers/tester",
            }, Timeout, default);
        }
        var answer = await WaitForSpanAsync(s => s.Source.Name == "EdgeEvents.llm" && s.DisplayName == "answer");

        var trace = SpansOfTraceStartedBy("capture");
        // One chain from the camera's capture to the scene's tracking, each span the parent of the next.
        Assert.Equal(
            [
                ("EdgeEvents.camera", "capture"),
                ("EdgeEvents.camera", "publish edge/frames/cam1"),
                ("EdgeEvents.detector", "receive edge/frames/cam1"),
                ("EdgeEvents.detector", "detect"),
                ("EdgeEvents.detector", "publish edge/detections/cam1"),
                ("EdgeEvents.scene", "receive edge/detections/cam1"),
                ("EdgeEvents.scene", "track"),
            ],
            Chain(trace,
                [
                    "capture", "publish edge/frames/cam1", "receive edge/frames/cam1", "detect",
                    "publish edge/detections/cam1", "receive edge/detections/cam1", "track",
                ])
                .Select(s => (s.Source.Name, s.DisplayName)));
        var track = Assert.Single(trace, s => s.DisplayName == "track");
        // What the scene published for these detections: the new-object event(s) and the scene
        // state, children of track.
        var eventPublishes = trace.Where(s => s.DisplayName == "publish edge/events/cam1").ToList();
        Assert.NotEmpty(eventPublishes);
        Assert.All(eventPublishes, s => Assert.Equal(track.SpanId, s.ParentSpanId));
        var statePublish = Assert.Single(trace, s =>
            s.DisplayName == "publish edge/scene/cam1" && s.Source.Name == "EdgeEvents.scene");
        Assert.Equal(track.SpanId, statePublish.ParentSpanId);
        // The LLM's receipt of that scene state continues the same trace.
        var detectorReceive = Assert.Single(trace, s =>
            s.DisplayName == "receive edge/frames/cam1" && s.Source.Name == "EdgeEvents.detector");
        Assert.Equal(frame.Id, detectorReceive.GetTagItem("messaging.message.id"));
        Assert.Equal(trace[0].TraceId, llmGotState.TraceId);
        Assert.Equal(statePublish.SpanId, llmGotState.ParentSpanId);

        // The answer belongs to the asker's trace (child of the question's receive) and links to the
        // scene state it used.
        var ask = SpansOfTraceStartedBy("ask");
        Assert.Contains(answer, ask);
        Assert.Equal("receive edge/questions/tester", ask.Single(s => s.SpanId == answer.ParentSpanId).DisplayName);
        var link = Assert.Single(answer.Links);
        Assert.Equal((llmGotState.TraceId, llmGotState.SpanId), (link.Context.TraceId, link.Context.SpanId));
    }

    private static async Task<IHost> StartAsync(string brokerUrl, string component,
        Action<IServiceCollection, IConfiguration> add, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        settings["Transport:Broker"] = brokerUrl;
        settings["Transport:ClientId"] = $"{component}-{Guid.NewGuid():N}"[..24];
        settings["Transport:PersistentSession"] = "false";
        builder.Configuration.AddInMemoryCollection(settings);
        add(builder.Services, builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static HostStop Stopping(IHost host) => new(host);

    private sealed class HostStop(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    private static async Task WaitOnlineAsync(IMessageSubscription status, string[] components)
    {
        var waiting = new HashSet<string>(components);
        using var timeout = new CancellationTokenSource(Timeout);
        while (waiting.Count > 0)
        {
            var message = await status.Messages.ReadAsync(timeout.Token);
            if (Encoding.UTF8.GetString(message.Payload.Span) == StatusPayloads.Online)
                waiting.Remove(message.Topic["edge/status/".Length..]);
        }
    }

    private async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            lock (_spans)
                if (_spans.FirstOrDefault(match) is { } span) return span;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Span not exported in time.");
            await Task.Delay(20);
        }
    }

    private List<Activity> SpansOfTraceStartedBy(string rootName)
    {
        lock (_spans)
        {
            var root = Assert.Single(_spans, s => s.DisplayName == rootName && s.ParentSpanId == default);
            return _spans.Where(s => s.TraceId == root.TraceId).OrderBy(s => s.StartTimeUtc).ToList();
        }
    }

    /// <summary>From the root down, following at each step the one child with the next expected name.</summary>
    private static List<Activity> Chain(List<Activity> trace, string[] names)
    {
        var chain = new List<Activity> { trace.Single(s => s.ParentSpanId == default) };
        foreach (var name in names.Skip(1))
        {
            var next = trace
                .Where(s => s.ParentSpanId == chain[^1].SpanId && s.DisplayName == name &&
                    s.Source.Name != "EdgeEvents.observer")
                .ToList();
            if (next is not [var only]) break;
            chain.Add(only);
        }
        return chain;
    }
}
