using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Snapshots;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>Annotated snapshots on <c>edge/snapshots/{camera}</c>, end to end through the embedded broker.</summary>
[Collection(RealModels.Name)]
public class Snapshots_Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task Bus_photo_snapshot_is_retained_for_a_late_subscriber_with_boxes_drawn_and_the_rest_of_the_photo_kept()
    {
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloV8,
            // Full size, so the snapshot's pixels compare one to one with the photo's; scaling has its own test.
            ["Detector:SnapshotMaxWidth"] = "0",
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("test", jpeg);
        var set = DetectorHost.Decode<DetectionSet>((await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)))[0]);
        await WaitUntilAsync(() => detector.Worker.Stats.Snapshots == 1);

        await using var late = await TestTransports.ConnectAsync(broker.Url);
        await using var snapshots = await late.SubscribeAsync(new SubscriptionRequest("edge/snapshots/+"), CancellationToken.None);
        var message = Assert.Single(await Receive.ExactlyAsync(snapshots, 1, TimeSpan.FromSeconds(10)));

        Assert.Equal(("edge/snapshots/test", true, ContentTypes.Jpeg), (message.Topic, message.Retained, message.ContentType));
        Assert.Equal(FrameEncoding.Jpeg, FramePayload.DetectImage(message.Payload.Span));
        using var snapshot = SKBitmap.Decode(message.Payload.ToArray());
        using var original = SKBitmap.Decode(jpeg);
        Assert.Equal((810, 1080), (snapshot.Width, snapshot.Height));
        File.WriteAllBytes(Path.Combine(Path.GetTempPath(), "edge-snapshot-bus.jpg"), message.Payload.ToArray());

        // The bus box (reference [34,230,796,774] ± 4 px; the drawn one is the detected one) now has a line along its edges…
        var bus = Assert.Single(set.Detections, d => d.Label == "bus").Box;
        var edge = new List<(int X, int Y)>();
        for (var x = (int)bus.X1 + 20; x < bus.X2 - 20; x += 10) edge.Add((x, (int)MathF.Round(bus.Y2)));
        for (var y = (int)bus.Y1 + 20; y < bus.Y2 - 20; y += 10) edge.Add(((int)MathF.Round(bus.X1), y));
        var changed = edge.Count(p => Difference(snapshot, original, p.X, p.Y) > 60);
        output.WriteLine($"{changed} of {edge.Count} points on the bus box's bottom and left edges changed; {Difference(snapshot, original, edge[0].X, edge[0].Y)} at the first");
        Assert.True(changed >= edge.Count * 9 / 10, $"only {changed} of {edge.Count} points on the bus box edges differ from the photo");
        // …while the facade above every box and tag is the photo as it was, give or take JPEG re-encoding (a few levels per channel).
        var far = new List<int>();
        for (var y = 20; y < 180; y += 8)
            for (var x = 300; x < 780; x += 8) far.Add(Difference(snapshot, original, x, y));
        output.WriteLine($"far from boxes: mean difference {far.Average():F1}, max {far.Max()}");
        Assert.True(far.Average() < 20, $"pixels far from any box changed by {far.Average():F1} on average");
    }

    [Fact]
    public async Task Frames_at_20_fps_for_2_s_give_at_most_3_snapshots_per_camera_at_one_per_second()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?> { ["Detector:ModelPath"] = DetectorHost.YoloX });
        await using var snapshots = await detector.SubscribeAsync("edge/snapshots/+");
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 320, 240);

        var clock = Stopwatch.StartNew();
        for (var tick = 0; tick < 40; tick++)
        {
            await detector.PublishFrameAsync("cam1", jpeg);
            await detector.PublishFrameAsync("cam2", jpeg);
            var next = TimeSpan.FromSeconds((tick + 1) / 20.0);
            if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
        }

        var received = await Receive.UntilQuietAsync(snapshots.Messages, TimeSpan.FromSeconds(2));
        var perCamera = received.GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"processed {detector.Worker.Stats.Processed}; snapshots {string.Join(", ", perCamera.Select(p => $"{p.Key}={p.Value}"))}");
        Assert.Equal(["edge/snapshots/cam1", "edge/snapshots/cam2"], perCamera.Keys.Order());
        Assert.All(perCamera.Values, n => Assert.InRange(n, 2, 3));
        Assert.True(detector.Worker.Stats.Processed > 3 * received.Count, $"only {detector.Worker.Stats.Processed} frames processed");
        // The frames decode at full size for this model, so snapshots draw on the pipeline's pixels instead of decoding again.
        output.WriteLine($"{detector.Worker.Stats.SnapshotDecodes} of {detector.Worker.Stats.Snapshots} snapshots decoded their frame again");
        Assert.True(detector.Worker.Stats.SnapshotDecodes < detector.Worker.Stats.Snapshots);
    }

    [Fact]
    public async Task No_snapshots_are_published_when_they_are_turned_off()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloX,
            ["Detector:SnapshotsPerSecond"] = "0",
        });
        await using var snapshots = await detector.SubscribeAsync("edge/snapshots/+");
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("cam1", TestImages.ResizedJpeg("bus.jpg", 320, 240));
        await detector.PublishFrameAsync(TestImages.RawRgb("bus.jpg", "cam2"));

        Assert.Equal(2, (await Receive.ExactlyAsync(detections, 2, TimeSpan.FromSeconds(20))).Count);
        Assert.Empty(await Receive.UntilQuietAsync(snapshots.Messages, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(0, detector.Worker.Stats.Snapshots);
    }

    [Fact]
    public async Task A_frame_the_snapshot_stage_cannot_draw_is_reported_and_the_next_raw_bgr_frame_is_published_in_its_colours()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var component = await TestTransports.ComponentAsync(TestTransports.Options(broker.Url), "detector");
        await using var observer = await TestTransports.ConnectAsync(broker.Url);
        await using var errors = await observer.SubscribeAsync(new SubscriptionRequest("edge/errors/detector"), CancellationToken.None);
        await using var snapshots = await observer.SubscribeAsync(new SubscriptionRequest("edge/snapshots/+"), CancellationToken.None);
        var stats = new DetectorStats();
        var stage = new SnapshotPublisher(new DetectorOptions(), component, stats);
        using var stop = new CancellationTokenSource();
        var running = stage.RunAsync(stop.Token);

        stage.Offer(Detections("broken", 64, 48), new Frame { Camera = "broken", Encoding = FrameEncoding.Jpeg, Data = [0xFF, 0xD8, 0xFF, 0x00, 0x01] });
        // Orange in B, G, R byte order.
        var bgr = new byte[64 * 48 * 3];
        for (var i = 0; i < bgr.Length; i += 3) (bgr[i], bgr[i + 1], bgr[i + 2]) = (0, 128, 255);
        stage.Offer(Detections("raw", 64, 48), new Frame { Camera = "raw", Encoding = FrameEncoding.Bgr24, Width = 64, Height = 48, Data = bgr });

        var error = DetectorHost.Decode<ErrorEvent>(Assert.Single(await Receive.ExactlyAsync(errors, 1, TimeSpan.FromSeconds(10))));
        output.WriteLine($"{error.Kind}: {error.Message}");
        Assert.Equal((ErrorKinds.Internal, "broken", "edge/snapshots/broken"), (error.Kind, error.Camera, error.Topic));
        var message = Assert.Single(await Receive.ExactlyAsync(snapshots, 1, TimeSpan.FromSeconds(10)));
        Assert.Equal("edge/snapshots/raw", message.Topic);
        using var image = SKBitmap.Decode(message.Payload.ToArray());
        Assert.Equal((64, 48), (image.Width, image.Height));
        var pixel = image.GetPixel(32, 24);
        Assert.True(Math.Abs(pixel.Red - 255) < 12 && Math.Abs(pixel.Green - 128) < 12 && pixel.Blue < 12, $"centre pixel is {pixel}");
        Assert.Equal(1, stats.Snapshots);
        await stop.CancelAsync();
        await running;
    }

    [Theory]
    [InlineData(false, 640, 480, 270)] // the default: a JPEG decodes at the largest n/8 scale that fits, here 2/8
    [InlineData(false, 1280, 1200, 675)] // 5/8
    [InlineData(true, 640, 640, 360)] // raw pixels are resampled to the maximum width
    public void A_1080p_frame_is_scaled_to_fit_the_maximum_width_with_its_boxes(bool raw, int maxWidth, int width, int height)
    {
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 1920, 1080);
        var frame = raw ? TestImages.RawRgb(jpeg, "wide") : new Frame { Camera = "wide", Encoding = FrameEncoding.Jpeg, Data = jpeg };
        var set = Detections("wide", 1920, 1080) with
        {
            Detections = [new Detection { ClassId = 5, Label = "bus", Confidence = 0.83f, Box = new Box(300, 300, 1500, 900) }],
        };
        var renderer = new SnapshotRenderer(quality: 80, maxWidth);

        using var snapshot = SKBitmap.Decode(renderer.Render(frame, set));
        using var plain = SKBitmap.Decode(renderer.Render(frame, Detections("wide", 1920, 1080)));

        Assert.Equal((width, height), (snapshot.Width, snapshot.Height));
        // The box's bottom edge, scaled, is drawn; the middle of the box is not.
        var scale = (float)snapshot.Width / 1920;
        var (x, y) = ((int)(900 * scale), (int)MathF.Round(900 * scale));
        Assert.True(Difference(snapshot, plain, x, y) > 60, $"{snapshot.GetPixel(x, y)} on the scaled box edge, {plain.GetPixel(x, y)} without boxes");
        Assert.True(Difference(snapshot, plain, x, (int)(600 * scale)) < 20);
    }

    [Theory]
    [InlineData(640, 608, 810, false)] // the pipeline decoded bus.jpg at 6/8, the snapshot's own scale: the same pixels
    [InlineData(0, 810, 1080, true)] // full size wanted, 6/8 kept: decoded again
    public void A_snapshot_drawn_on_the_pipelines_pixels_is_the_one_decoding_again_gives(int maxWidth, int width, int height, bool decodedAgain)
    {
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        var frame = new Frame { Camera = "bus", Encoding = FrameEncoding.Jpeg, Data = jpeg };
        var preprocessor = new FramePreprocessor(new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true), 4096L * 4096, PreprocessMode.Fast);
        preprocessor.Prepare(frame, new float[3 * 640 * 640], out _);
        var decoded = preprocessor.CopyDecoded()!;
        var set = Detections("bus", 810, 1080) with
        {
            Detections = [new Detection { ClassId = 5, Label = "bus", Confidence = 0.87f, Box = new Box(34, 230, 796, 774) }],
        };
        var renderer = new SnapshotRenderer(quality: 80, maxWidth);

        var fromPipeline = renderer.Render(frame, set, decoded, out var again);
        var fromFrame = renderer.Render(frame, set);

        Assert.Equal((608, 810), (decoded.Width, decoded.Height));
        Assert.Equal(decodedAgain, again);
        using var image = SKBitmap.Decode(fromPipeline);
        Assert.Equal((width, height), (image.Width, image.Height));
        // Both decode with the same library (the system's libjpeg-turbo where installed).
        Assert.Equal(fromFrame, fromPipeline);
    }

    [Fact]
    public void A_1080p_frame_decoded_at_4_8_gives_a_snapshot_of_the_2_8_size_without_a_second_decode()
    {
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 1920, 1080);
        var frame = new Frame { Camera = "wide", Encoding = FrameEncoding.Jpeg, Data = jpeg };
        var preprocessor = new FramePreprocessor(new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true), 4096L * 4096, PreprocessMode.Fast);
        preprocessor.Prepare(frame, new float[3 * 640 * 640], out _);
        var decoded = preprocessor.CopyDecoded()!;
        var renderer = new SnapshotRenderer(quality: 80, maxWidth: 640);

        using var fromPipeline = SKBitmap.Decode(renderer.Render(frame, Detections("wide", 1920, 1080), decoded, out var again));
        using var fromFrame = SKBitmap.Decode(renderer.Render(frame, Detections("wide", 1920, 1080)));

        Assert.Equal((960, 540), (decoded.Width, decoded.Height));
        Assert.False(again);
        Assert.Equal((fromFrame.Width, fromFrame.Height), (fromPipeline.Width, fromPipeline.Height));
        var differences = new List<int>();
        for (var y = 4; y < fromFrame.Height; y += 8)
            for (var x = 4; x < fromFrame.Width; x += 8) differences.Add(Difference(fromFrame, fromPipeline, x, y));
        output.WriteLine($"mean difference {differences.Average():F1} (sum of three channels)");
        Assert.True(differences.Average() < 15, $"the two snapshots differ by {differences.Average():F1} on average");
    }

    [Fact]
    public void Snapshots_are_encoded_with_the_systems_libjpeg_turbo_as_skiasharp_would_encode_them()
    {
        Assert.True(!OperatingSystem.IsLinux() || TurboJpeg.Instance is not null,
            "libturbojpeg.so.0 not found: install it (Debian/Ubuntu: apt-get install libturbojpeg0); .ci/run does");
        using var photo = SKBitmap.Decode(TestImages.ResizedJpeg("bus.jpg", 608, 810));
        using var source = photo.Copy(SKColorType.Rgba8888);

        using var turbo = SKBitmap.Decode(JpegEncoder.Encode(source, 80));
        using var skia = SKBitmap.Decode(JpegEncoder.Encode(source, 80, turbo: false));

        Assert.Equal((608, 810), (turbo.Width, turbo.Height));
        Assert.Equal((608, 810), (skia.Width, skia.Height));
        var (toSource, toSkia) = (new List<int>(), new List<int>());
        for (var y = 3; y < 810; y += 7)
            for (var x = 3; x < 608; x += 7)
            {
                toSource.Add(Difference(turbo, source, x, y));
                toSkia.Add(Difference(turbo, skia, x, y));
            }
        output.WriteLine($"TurboJPEG vs source {toSource.Average():F2}, vs SkiaSharp {toSkia.Average():F2} (mean, sum of three channels)");
        Assert.True(toSource.Average() < 12, $"TurboJPEG's snapshot differs from its source by {toSource.Average():F2}");
        Assert.True(toSkia.Average() < 5, $"TurboJPEG's and SkiaSharp's snapshots differ by {toSkia.Average():F2}");
    }

    private static DetectionSet Detections(string camera, int width, int height) =>
        new() { Camera = camera, ModelId = "test", ImageWidth = width, ImageHeight = height };

    private static int Difference(SKBitmap a, SKBitmap b, int x, int y)
    {
        var (p, q) = (a.GetPixel(x, y), b.GetPixel(x, y));
        return Math.Abs(p.Red - q.Red) + Math.Abs(p.Green - q.Green) + Math.Abs(p.Blue - q.Blue);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException("Condition not met within 10 s.");
            await Task.Delay(20);
        }
    }
}
