using EdgeEvents.Bridge;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Contracts.Topics;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Hosting;

namespace EdgeEvents.Fleet.Tests;

/// <summary>
/// A detector's retained model state at a site reaches the hub through the built-in bridge and shows in the site's
/// <c>fleet/sites/{site}</c>, what an operator rolling out site by site watches.
/// </summary>
public sealed class FleetModels_Tests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-fleet-models-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task A_detectors_model_state_at_a_bridged_site_shows_in_the_sites_fleet_status()
    {
        await using var hub = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var site = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        using var fleet = await HubFleet.StartAsync(hub.Url, []);
        using var bridge = await WorkerHost.StartHostAsync(site.Url, builder =>
        {
            builder.AddEdgeServiceDefaults(BridgeWorker.Component);
            builder.Services.AddBridge(builder.Configuration);
        }, new Dictionary<string, string?>
        {
            ["Transport:ClientId"] = "bridge-north",
            ["Stats:Interval"] = "0s",
            ["Bridge:Site"] = "north",
            ["Bridge:Hub:Broker"] = hub.Url,
            ["Bridge:Hub:Outbox:Path"] = Path.Combine(_folder.FullName, "bridge.outbox.db"),
        });
        await using var hubClient = await TestTransports.ConnectAsync(hub.Url);
        await using var watch = await FleetWatch.StartAsync(hubClient);
        await using var detector = await TestTransports.ConnectAsync(site.Url, "detector-1");
        var topic = new TopicScheme().DetectorModel("detector-1");

        await PublishAsync(detector, topic, new ModelStatus(RolloutStates.Verifying, "v2", "v1"));
        await watch.WaitForAsync("north", s => s.Models.GetValueOrDefault("detector-1")?.State == RolloutStates.Verifying,
            "showing detector-1 verifying v2", Timeout);
        var rolledBack = new ModelStatus(RolloutStates.RolledBack, "v2", "v1", Reason: "gate: agreement 0.41 below 0.900", Agreement: 0.41);
        await PublishAsync(detector, topic, rolledBack);
        var status = await watch.WaitForAsync("north", s => s.Models.GetValueOrDefault("detector-1")?.State == RolloutStates.RolledBack,
            "showing detector-1 rolled back", Timeout);

        Assert.Equal(rolledBack, status.Models["detector-1"]);
        await fleet.StopAsync();
        await bridge.StopAsync();
    }

    private static ValueTask PublishAsync(IMessageTransport transport, string topic, ModelStatus status) =>
        transport.PublishAsync(new OutgoingMessage(topic, MessageCodec.Serialize(status, PayloadFormat.Json))
        {
            ContentType = ContentTypes.Json, Delivery = Delivery.AtLeastOnce, Retain = true,
        }, default);
}
