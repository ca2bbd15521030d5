using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>Topic is identity (issue 24, finding 2): a frame's camera is its topic's; an envelope may not claim another.</summary>
public sealed class FrameIdentity_Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_envelope_naming_another_camera_than_its_topic_is_rejected_as_invalid_frame_and_its_own_camera_is_detected()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?> { ["Detector:ModelPath"] = DetectorHost.YoloX });
        await using var errors = await detector.SubscribeAsync("edge/errors/detector");
        await using var detections = await detector.SubscribeAsync("edge/detections/+");
        var frame = TestImages.RawRgb("bus.jpg", "cam2");

        // cam1 may publish only on edge/frames/cam1 (the broker checks that); it claims to be cam2 inside the envelope.
        await detector.PublishFrameAsync("cam1", MessageCodec.Serialize(frame, PayloadFormat.MessagePack), ContentTypes.MessagePack);
        var error = DetectorHost.Decode<ErrorEvent>((await Receive.ExactlyAsync(errors, 1, TimeSpan.FromSeconds(20)))[0]);
        await detector.PublishFrameAsync(frame with { Camera = "cam1" });
        var set = DetectorHost.Decode<DetectionSet>((await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)))[0]);

        output.WriteLine($"{error.Kind} on {error.Topic} (camera {error.Camera}): {error.Message}; then detections of {set.Camera}");
        Assert.Equal((ErrorKinds.InvalidFrame, "edge/frames/cam1", "cam1"), (error.Kind, error.Topic, error.Camera));
        Assert.Contains("'cam2'", error.Message, StringComparison.Ordinal);
        Assert.Equal("cam1", set.Camera);
        Assert.Empty(await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(1, detector.ComponentNamed(DetectorWorker.Component).Errors.Count);
    }
}
