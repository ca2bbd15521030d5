using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Xunit.Abstractions;

namespace EdgeEvents.Broker.Tests;

/// <summary>
/// nats-server with JetStream and the shipped authorization: the model request (issue 19) is retained on NATS, and
/// the detector user may replay it, so a detector that connects after it was published still follows it.
/// </summary>
public sealed class NatsModelRequest_Tests(ITestOutputHelper output)
{
    private const string Control = "edge/control/detector/model";

    [Fact]
    public async Task The_detector_user_replays_a_model_request_published_before_it_connected()
    {
        await using var nats = await ShippedNats.StartAsync();
        await using (var admin = await nats.ConnectAsync("admin"))
        {
            var request = ShippedNats.Text(Control, """{"version": "v2"}""") with { Retain = true, Delivery = Delivery.AtLeastOnce };
            await admin.PublishAsync(request, default);
        }

        await using var detector = await nats.ConnectAsync("detector");
        await using var control = await detector.SubscribeAsync(new SubscriptionRequest(Control), default);
        var replayed = (await Receive.ExactlyAsync(control, 1, TimeSpan.FromSeconds(15)))[0];

        var violations = nats.Server.Output.Split('\n').Where(l => l.Contains("Violation", StringComparison.Ordinal)).ToList();
        output.WriteLine($"replayed '{ShippedNats.Of(replayed)}' (retained {replayed.Retained}); violations: {violations.Count}");
        Assert.True(replayed.Retained);
        Assert.Equal("""{"version": "v2"}""", ShippedNats.Of(replayed));
        Assert.Empty(violations);
    }
}
