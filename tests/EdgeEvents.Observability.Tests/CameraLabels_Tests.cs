using System.Net;
using EdgeEvents.Broker;
using EdgeEvents.Pipeline.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace EdgeEvents.Observability.Tests;

/// <summary>
/// Camera label cardinality (issue 24, finding 8): Telemetry:MaxCameraLabels per component, the rest as <c>other</c>.
/// </summary>
public sealed class CameraLabels_Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_flood_of_camera_ids_keeps_the_configured_camera_labels_plus_other_and_no_overflow_series()
    {
        const string component = "flood-detector";
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var host = await ServiceHost.StartAsync(component, broker.Url);
        await host.WaitForAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(15));

        for (var i = 0; i < 2000; i++) EdgeTelemetry.FrameDropped(component, $"flood-{i}", "stale");
        var (_, text) = await host.GetAsync("/metrics");
        var series = PrometheusText.Parse(text)
            .Where(s => s.Name == "edge_frames_dropped_total" && s.Has(("component", component)))
            .ToList();

        var other = series.Single(s => s.Labels["camera"] == CameraLabels.Other).Value;
        output.WriteLine(
            $"2000 camera ids → {series.Count} series (limit {CameraLabels.Limit}); 'other' counts {other}");
        Assert.Equal(CameraLabels.Limit + 1, series.Count);
        Assert.Equal(["flood-0", "flood-1"],
            series.Select(s => s.Labels["camera"]).Where(c => c is "flood-0" or "flood-1").Order());
        Assert.Equal(2000, series.Sum(s => s.Value));
        Assert.DoesNotContain("otel_metric_overflow", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_component_keeps_its_own_cameras_and_a_known_camera_keeps_its_name()
    {
        for (var i = 0; i < CameraLabels.Limit; i++) CameraLabels.Of("labels-a", $"a-{i}");

        Assert.Equal(CameraLabels.Other, CameraLabels.Of("labels-a", "one-too-many"));
        Assert.Equal("a-0", CameraLabels.Of("labels-a", "a-0"));
        Assert.Equal("one-too-many", CameraLabels.Of("labels-b", "one-too-many"));
    }
}
