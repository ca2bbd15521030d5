using System.Diagnostics;
using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace EdgeEvents.Observability.Tests;

public sealed class Tracing_Tests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly List<Activity> _spans = [];
    private readonly TracerProvider _tracing;

    public Tracing_Tests() => _tracing = Sdk.CreateTracerProviderBuilder()
        .AddSource($"{EdgeTelemetry.Name}.*")
        .SetSampler(new AlwaysOnSampler())
        .AddInMemoryExporter(_spans)
        .Build()!;

    public void Dispose() => _tracing.Dispose();

    [Theory]
    [InlineData("mqtt")]
    [InlineData("nats")]
    public async Task A_frame_and_its_detections_cross_three_components_as_one_trace_in_causal_order(string system)
    {
        // W3C context travels in MQTT 5 user properties or in NATS headers.
        var (broker, url) = await StartBrokerAsync(system);
        await using var _ = broker;
        await using var camera = await TestTransports.ConnectAsync(url, component: "camera");
        await using var detector = await TestTransports.ConnectAsync(url, component: "detector");
        await using var scene = await TestTransports.ConnectAsync(url, component: "scene");
        await using var frames = await detector.SubscribeAsync(new SubscriptionRequest("edge/frames/+")
        {
            Delivery = Delivery.AtMostOnce, Overload = OverloadPolicy.DropOldest,
        }, default);
        await using var detections = await scene.SubscribeAsync(new SubscriptionRequest("edge/detections/+"), default);

        var frame = new Frame
        {
            Camera = "cam1", Sequence = 1, CapturedAt = DateTimeOffset.UtcNow, Encoding = FrameEncoding.Jpeg,
            Data = [0xFF, 0xD8, 0xFF, 0xD9],
        };
        using (EdgeTelemetry.StartStage("camera", "capture"))
        {
            var payload = MessageCodec.Serialize(frame, PayloadFormat.MessagePack);
            await camera.PublishAsync(new OutgoingMessage("edge/frames/cam1", payload)
            {
                Delivery = Delivery.AtMostOnce, MessageId = frame.Id,
            }, default);
        }

        var received = (await Receive.ExactlyAsync(frames, 1, Timeout))[0];
        // As a batching detector does: only the frame's trace context travels with the queued work item.
        var queued = EdgeTelemetry.ContextOf(received);
        using (EdgeTelemetry.StartProcessing("detector", "detect", queued))
        {
            using (EdgeTelemetry.StartStage("detector", "inference")) { }
            var set = new DetectionSet
            {
                Camera = "cam1", ModelId = "test", FrameId = frame.Id, CapturedAt = frame.CapturedAt,
            };
            var payload = MessageCodec.Serialize(set, PayloadFormat.MessagePack);
            await detector.PublishAsync(new OutgoingMessage("edge/detections/cam1", payload) { MessageId = set.Id },
                default);
        }
        var detected = (await Receive.ExactlyAsync(detections, 1, Timeout))[0];
        using (EdgeTelemetry.StartProcessing("scene", "track", detected)) { }

        var trace = SpansOfTraceStartedBy("capture");
        // Each span's parent is the one before it: one chain from the camera's capture to the scene's tracking.
        Assert.Equal(
            [
                ("EdgeEvents.camera", "capture", ActivityKind.Internal),
                ("EdgeEvents.camera", "publish edge/frames/cam1", ActivityKind.Producer),
                ("EdgeEvents.detector", "receive edge/frames/cam1", ActivityKind.Consumer),
                ("EdgeEvents.detector", "detect", ActivityKind.Internal),
                ("EdgeEvents.detector", "publish edge/detections/cam1", ActivityKind.Producer),
                ("EdgeEvents.scene", "receive edge/detections/cam1", ActivityKind.Consumer),
                ("EdgeEvents.scene", "track", ActivityKind.Internal),
            ],
            Chain(trace).Select(s => (s.Source.Name, s.DisplayName, s.Kind)));
        var inference = Assert.Single(trace, s => s.DisplayName == "inference");
        Assert.Equal(Assert.Single(trace, s => s.DisplayName == "detect").SpanId, inference.ParentSpanId);

        var publish = Assert.Single(trace, s => s.DisplayName == "publish edge/frames/cam1");
        Assert.Equal(system, publish.GetTagItem(MessagingTags.System));
        Assert.Equal("publish", publish.GetTagItem(MessagingTags.Operation));
        Assert.Equal("edge/frames/cam1", publish.GetTagItem(MessagingTags.DestinationName));
        Assert.Equal(frame.Id, publish.GetTagItem(MessagingTags.MessageId));
        var receive = Assert.Single(trace, s => s.DisplayName == "receive edge/frames/cam1");
        Assert.Equal("receive", receive.GetTagItem(MessagingTags.Operation));
        Assert.Equal(frame.Id, receive.GetTagItem(MessagingTags.MessageId));
        // The receive span starts when the transport got the message, so it covers the time queued in the subscription.
        Assert.Equal(received.ReceivedAt.UtcDateTime, receive.StartTimeUtc);
        Assert.Equal($"00-{receive.TraceId}-{receive.SpanId}-01", received.Headers[TraceContext.TraceParent]);
    }

    [Fact]
    public async Task A_request_and_the_reply_made_while_handling_it_share_the_requesters_trace_and_link_the_scene_used()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var scene = await TestTransports.ConnectAsync(broker.Url, component: "scene");
        await using var asker = await TestTransports.ConnectAsync(broker.Url, component: "ask");
        await using var llm = await TestTransports.ConnectAsync(broker.Url, component: "llm");
        await using var states = await llm.SubscribeAsync(new SubscriptionRequest("edge/scene/+"), default);
        await using var questions = await llm.SubscribeAsync(new SubscriptionRequest("edge/questions/#"), default);

        using (EdgeTelemetry.StartStage("scene", "track"))
            await scene.PublishAsync(new OutgoingMessage("edge/scene/cam1", "{}"u8.ToArray()), default);
        var sceneUsed = EdgeTelemetry.ContextOf((await Receive.ExactlyAsync(states, 1, Timeout))[0]);
        var responder = Task.Run(async () =>
        {
            var question = (await Receive.ExactlyAsync(questions, 1, Timeout))[0];
            using var span = EdgeTelemetry.StartProcessing("llm", "answer", question).AddLink(sceneUsed);
            await llm.PublishAsync(new OutgoingMessage(question.ResponseTopic!, "two buses"u8.ToArray())
            {
                CorrelationData = question.CorrelationData,
            }, default);
        });

        using (EdgeTelemetry.StartStage("ask", "ask"))
            await asker.RequestAsync(new OutgoingMessage("edge/questions/tester", "how many buses?"u8.ToArray())
            {
                ResponseTopic = "edge/answers/tester",
            }, Timeout, default);
        await responder;

        var trace = SpansOfTraceStartedBy("ask");
        Assert.Equal(
            [
                "ask", "request edge/questions/tester", "receive edge/questions/tester", "answer",
                "publish edge/answers/tester",
            ],
            Chain(trace).Select(s => s.DisplayName));
        // The answer links to the scene state it used, which belongs to the scene's own trace.
        var link = Assert.Single(trace.Single(s => s.DisplayName == "answer").Links);
        var sceneReceive = SpansOfTraceStartedBy("track").Single(s => s.DisplayName == "receive edge/scene/cam1");
        Assert.Equal((sceneReceive.TraceId, sceneReceive.SpanId), (link.Context.TraceId, link.Context.SpanId));
    }

    private static async Task<(IAsyncDisposable Broker, string Url)> StartBrokerAsync(string system)
    {
        if (system == "nats")
        {
            var nats = await NatsServer.StartNewAsync(jetStream: false);
            return (nats, nats.Url);
        }
        var mqtt = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        return (mqtt, mqtt.Url);
    }

    private List<Activity> SpansOfTraceStartedBy(string rootName)
    {
        lock (_spans)
        {
            var root = Assert.Single(_spans, s => s.DisplayName == rootName && s.ParentSpanId == default);
            return _spans.Where(s => s.TraceId == root.TraceId).ToList();
        }
    }

    /// <summary>The spans from the root down, following the one child that is not a leaf stage.</summary>
    private static List<Activity> Chain(List<Activity> trace)
    {
        var chain = new List<Activity> { trace.Single(s => s.ParentSpanId == default) };
        while (trace.Where(s => s.ParentSpanId == chain[^1].SpanId && s.DisplayName != "inference").ToList()
            is [var next])
            chain.Add(next);
        return chain;
    }
}
