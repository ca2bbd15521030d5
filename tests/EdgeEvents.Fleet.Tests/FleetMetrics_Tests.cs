using System.Diagnostics.Metrics;
using System.Text;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Observability;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Fleet.Tests;

/// <summary><c>edge_fleet_site_up</c>, what the <c>EdgeSiteOffline</c> alert reads: the fleet component's view per site.</summary>
public sealed class FleetMetrics_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_site_up_gauge_follows_each_sites_state_at_the_hub()
    {
        await using var hub = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        using var fleet = await HubFleet.StartAsync(hub.Url, new() { ["Fleet:Sites:0"] = "plant-a", ["Fleet:Sites:1"] = "plant-b" });
        await using var client = await TestTransports.ConnectAsync(hub.Url);
        await using var watch = await FleetWatch.StartAsync(client);

        // Expected but never heard: both offline, both reported 0.
        await watch.WaitForAsync("plant-a", SiteStates.Offline, Timeout);
        await WaitForGaugeAsync("plant-a", 0);
        await WaitForGaugeAsync("plant-b", 0);

        await client.PublishAsync(new OutgoingMessage(FleetTopics.Link("plant-a"), Encoding.UTF8.GetBytes(LinkPayloads.Up))
        {
            Delivery = Delivery.AtLeastOnce, Retain = true,
        }, default);
        await watch.WaitForAsync("plant-a", SiteStates.Online, Timeout);
        await WaitForGaugeAsync("plant-a", 1);
        await WaitForGaugeAsync("plant-b", 0);

        await client.PublishAsync(new OutgoingMessage(FleetTopics.Link("plant-a"), Encoding.UTF8.GetBytes(LinkPayloads.Down))
        {
            Delivery = Delivery.AtLeastOnce, Retain = true,
        }, default);
        await watch.WaitForAsync("plant-a", SiteStates.Offline, Timeout);
        await WaitForGaugeAsync("plant-a", 0);

        await fleet.StopAsync();
    }

    /// <summary>Collects the gauge until the site's series reads <paramref name="expected"/>.</summary>
    private static async Task WaitForGaugeAsync(string site, long expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        long? last = null;
        while (true)
        {
            last = Read(site);
            if (last == expected) return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"edge_fleet_site_up{{site=\"{site}\"}} was not {expected} within {Timeout.TotalSeconds:0} s; last: {last?.ToString() ?? "no series"}.");
            await Task.Delay(100);
        }
    }

    private static long? Read(string site)
    {
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EdgeTelemetry.Name && instrument.Name == EdgeTelemetry.FleetSiteUp.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == EdgeTelemetry.Tags.Site && (string?)tag.Value == site) value = measurement;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }
}
