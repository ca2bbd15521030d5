using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Observability.Tests.Monitoring;

/// <summary>The metrics of a real run of every worker, scraped directly and by a real Prometheus.</summary>
public sealed class LivePipeline_Tests(RunningPipeline pipeline, ITestOutputHelper output)
    : IClassFixture<RunningPipeline>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Counted only when their event happens (a drop, a redelivery, a lost link, a model rollout), or served only by
    /// the hub's fleet component, which a site's pipeline does not run: <see cref="MetricList_Tests"/> shows their
    /// instruments exist.
    /// </summary>
    private static readonly string[] OnlyWhenItHappens =
    [
        "edge_frames_dropped_total", "edge_detector_frames_dropped_total", "edge_messages_dropped_total",
        "edge_messages_duplicates_total", "edge_broker_disconnects_total", "edge_fleet_site_up",
        "edge_detector_model_rollouts_total",
    ];

    [Fact]
    public async Task Every_metric_README_lists_is_served_by_the_running_workers()
    {
        // A malformed detection set: the scene worker counts it in edge_errors_total.
        await using (var client = await TestTransports.ConnectAsync(pipeline.BrokerUrl, component: "metrics-probe"))
            await client.PublishAsync(new OutgoingMessage("edge/detections/cam1", "not json"u8.ToArray())
            {
                ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce,
            }, default);

        var documented = MetricCatalog.Documented();
        var served = new SortedSet<string>();
        var deadline = DateTime.UtcNow + Timeout;
        while (documented.Except(served).Except(OnlyWhenItHappens).Any() && DateTime.UtcNow < deadline)
        {
            served = MetricCatalog.Served(await pipeline.ScrapeAsync());
            await Task.Delay(500);
        }
        var servedEdge = served.Count(n => n.StartsWith("edge_", StringComparison.Ordinal));
        output.WriteLine($"served {servedEdge} edge_ metrics; documented {documented.Count}; " +
                         $"not yet counted: {string.Join(", ", documented.Except(served))}");
        Assert.Empty(documented.Except(served).Except(OnlyWhenItHappens));
    }

    [Fact]
    public async Task A_real_Prometheus_scrapes_the_workers_and_answers_queries_for_the_pipeline_metrics()
    {
        await using var prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{pipeline.HealthPort}", Timeout);
        // Two scrapes at least, so rates have two points.
        var frameRate = "sum(rate(edge_frames_processed_total[10s]))";
        await prometheus.WaitUntilAsync(async () => (await prometheus.QueryAsync(frameRate)) is [{ Value: > 0 }],
            Timeout, "a frame rate");

        var up = Assert.Single(await prometheus.QueryAsync("up{job=\"edge-events\"}"));
        Assert.Equal(1, up.Value);
        var fps = Assert.Single(await prometheus.QueryAsync("sum(rate(edge_frames_processed_total[10s]))")).Value;
        var connected = await prometheus.QueryAsync("edge_broker_connected");
        Assert.Contains(connected, s => (string?)s.Labels["component"] == "detector" && s.Value == 1);
        Assert.Contains(connected, s => (string?)s.Labels["component"] == "scene" && s.Value == 1);
        var inference = Assert.Single(await prometheus.QueryAsync(
            "histogram_quantile(0.95, sum by (le) (rate(edge_stage_duration_milliseconds_bucket" +
            "{component=\"detector\", stage=\"inference\"}[1m])))")).Value;
        Assert.True(inference > 0, $"inference p95 {inference}");
        var outbox = await prometheus.QueryAsync("edge_outbox_size");
        Assert.Contains(outbox, s => (string?)s.Labels["component"] == "scene");
        var answers = await prometheus.QueryAsync("sum(edge_answers_total)");
        Assert.True(Assert.Single(answers).Value >= 1);

        // The shipped alert rules evaluate against the real series without errors.
        await prometheus.WaitUntilAsync(async () => (await prometheus.RulesAsync()).All(r => r.Health == "ok"),
            Timeout, "rules evaluated");
        var rules = await prometheus.RulesAsync();
        Assert.Equal(AlertRules_Tests.AlertNames(await File.ReadAllTextAsync(Promtool.RulesFile)).Order(),
            rules.Select(r => r.Name).Order());
        output.WriteLine($"up 1; {fps:0.##} frames/s; inference p95 {inference:0} ms; outbox series {outbox.Count}; " +
            $"answers {answers[0].Value}; {rules.Count} rules ok");
    }
}
