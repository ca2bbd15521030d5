using System.Net;
using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Observability.Tests;

public sealed class Metrics_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task The_prometheus_endpoint_exposes_pipeline_counters_histograms_and_gauges_with_their_labels()
    {
        const string component = "metrics-detector";
        const string cam = "metrics-cam";
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var host = await ServiceHost.StartAsync(component, broker.Url);
        await host.WaitForAsync("/readyz", HttpStatusCode.OK, Timeout);
        var detector = host.ComponentNamed(component);
        await using var frames = await detector.Transport.SubscribeAsync(
            new SubscriptionRequest("edge/frames/+") { Delivery = Delivery.AtMostOnce }, default);
        await using var camera = await TestTransports.ConnectAsync(broker.Url, component: "metrics-camera");

        for (var i = 0; i < 5; i++)
            await camera.PublishAsync(
                new OutgoingMessage($"edge/frames/{cam}", new byte[100]) { Delivery = Delivery.AtMostOnce }, default);
        foreach (var frame in await Receive.ExactlyAsync(frames, 5, Timeout))
        {
            using var span = EdgeTelemetry.StartProcessing(component, "detect", frame);
            EdgeTelemetry.FrameProcessed(component, cam);
            EdgeTelemetry.DetectionsPublished(component, cam, ["person", "person", "bus"],
                DateTimeOffset.UtcNow.AddMilliseconds(-40));
        }
        EdgeTelemetry.FrameDropped(component, cam, "stale");
        EdgeTelemetry.Generation(component, promptTokens: 120, completionTokens: 40,
            timeToFirstToken: TimeSpan.FromMilliseconds(30), total: TimeSpan.FromMilliseconds(400));
        detector.Errors.Report(ErrorKinds.MalformedPayload, "test");

        var (status, text) = await host.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, status);
        var samples = PrometheusText.Parse(text);

        double Value(string name, params (string, string)[] labels) =>
            Assert.Single(samples, s => s.Name == name && s.Has([("component", component), .. labels])).Value;

        Assert.Equal(5, Value("edge_frames_received_total", ("camera", cam)));
        Assert.Equal(5, Value("edge_frames_processed_total", ("camera", cam)));
        Assert.Equal(1, Value("edge_frames_dropped_total", ("camera", cam), ("reason", "stale")));
        Assert.Equal(10, Value("edge_detections_total", ("camera", cam), ("label", "person")));
        Assert.Equal(5, Value("edge_detections_total", ("camera", cam), ("label", "bus")));
        Assert.Equal(5, Value("edge_messages_received_total", ("topic", "frames")));
        Assert.Equal(1, Value("edge_errors_total", ("kind", ErrorKinds.MalformedPayload)));
        Assert.Equal(1, Value("edge_broker_connected", ("messaging_system", "mqtt")));
        Assert.Equal(0, Value("edge_queue_depth", ("queue", "edge/frames/+")));

        Assert.Equal(5, Value("edge_stage_duration_milliseconds_count", ("stage", "detect")));
        Assert.Equal(5, Value("edge_stage_duration_milliseconds_bucket", ("stage", "detect"), ("le", "+Inf")));
        Assert.Contains(samples, s =>
            s.Name == "edge_stage_duration_milliseconds_bucket" && s.Has(("stage", "detect"), ("le", "0.5")));
        Assert.Equal(5, Value("edge_latency_capture_to_detection_milliseconds_count", ("camera", cam)));
        // Recorded 40 ms after capture: all five fall in the (20, 50] bucket or later, none at or below 20 ms.
        Assert.Equal(0, Value("edge_latency_capture_to_detection_milliseconds_bucket", ("camera", cam), ("le", "20")));
        Assert.Equal(5,
            Value("edge_latency_capture_to_detection_milliseconds_bucket", ("camera", cam), ("le", "+Inf")));
        Assert.Equal(40, Value("edge_llm_tokens_total", ("kind", "completion")));
        Assert.Equal(100, Value("edge_llm_tokens_per_second_sum"));
        Assert.Equal(30, Value("edge_llm_time_to_first_token_milliseconds_sum"));
    }

    [Fact]
    public async Task The_stats_message_reports_the_counters_of_its_component_every_interval()
    {
        const string component = "stats-detector";
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var watcher = await TestTransports.ConnectAsync(broker.Url, component: "stats-watch");
        await using var stats = await watcher.SubscribeAsync(
            new SubscriptionRequest($"edge/stats/{component}") { Delivery = Delivery.AtMostOnce }, default);
        await using var host = await ServiceHost.StartAsync(component, broker.Url, statsSeconds: 0.5);
        await host.WaitForAsync("/readyz", HttpStatusCode.OK, Timeout);

        for (var i = 0; i < 3; i++)
        {
            using (EdgeTelemetry.StartStage(component, "inference")) { }
            EdgeTelemetry.FrameProcessed(component, "stats-cam");
        }

        // Stage means cover one interval each: some message up to the one that counts all three frames carries it.
        StatusMessage? status = null;
        var sawStageMean = false;
        using var deadline = new CancellationTokenSource(Timeout);
        while (status?.Values.GetValueOrDefault("frames_processed") != 3)
        {
            status = MessageCodec.Deserialize<StatusMessage>(
                (await stats.Messages.ReadAsync(deadline.Token)).Payload, ContentTypes.Json);
            sawStageMean |= status.Values.ContainsKey("stage_duration_ms.inference");
        }

        Assert.Equal(component, status.Component);
        Assert.Equal(3, status.Values["frames_processed.stats-cam"]);
        Assert.Equal(1, status.Values["broker_connected"]);
        Assert.True(status.Values.ContainsKey("uptime_s"));
        Assert.True(sawStageMean);
    }
}
