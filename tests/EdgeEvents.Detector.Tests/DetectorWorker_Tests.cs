using System.Diagnostics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Pipeline.Hosting;
using EdgeEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>The detector end to end through the embedded MQTT broker, with the real models. Serial: each loads a model and saturates the CPU.</summary>
[Collection(RealModels.Name)]
public class DetectorWorker_Tests(ITestOutputHelper output)
{
    // samples/LICENSES.md: YOLOv8n int8 on bus.jpg (x1, y1, x2, y2 in source pixels; the last person's x1 of -3 clips to 0).
    // Its letterbox was an antialiased resample (the Fast preprocessing was tuned to it), not OpenCV's INTER_LINEAR.
    private static readonly (string Label, Box Box)[] BusReference =
    [
        ("person", new Box(673, 381, 810, 879)),
        ("person", new Box(221, 407, 343, 856)),
        ("person", new Box(50, 398, 243, 904)),
        ("bus", new Box(34, 230, 796, 774)),
        ("person", new Box(0, 549, 61, 869)),
    ];

    // The same model on OpenCV's letterbox of bus.jpg (the Reference preprocessing gives OpenCV's tensor for this photo
    // value for value, OpenCvReference_Tests): boxes up to 7 px from the ones above, the last person at 0.31 not 0.43.
    private static readonly (string Label, Box Box)[] BusOpenCvReference =
    [
        ("person", new Box(672, 374, 810, 879)),
        ("person", new Box(221, 408, 344, 857)),
        ("person", new Box(50, 399, 243, 903)),
        ("bus", new Box(33, 231, 799, 768)),
        ("person", new Box(0, 551, 60, 868)),
    ];

    [Fact]
    public async Task Bus_photo_published_as_bare_jpeg_yields_bus_and_people_at_reference_boxes()
    {
        var set = await DetectBusAsync(PreprocessMode.Reference);
        foreach (var (label, box) in BusOpenCvReference)
            Assert.Contains(set.Detections, d => d.Label == label && Near(d.Box, box, 2));
    }

    [Fact]
    public async Task In_fast_mode_the_bus_photo_yields_the_boxes_of_the_samples_reference()
    {
        var set = await DetectBusAsync(PreprocessMode.Fast);
        foreach (var (label, box) in BusReference)
            Assert.Contains(set.Detections, d => d.Label == label && Near(d.Box, box, 4));
    }

    private async Task<DetectionSet> DetectBusAsync(PreprocessMode mode)
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloV8,
            ["Detector:Preprocess"] = mode.ToString(),
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("test", File.ReadAllBytes(TestData.Sample("bus.jpg")));

        var message = Assert.Single(await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal("edge/detections/test", message.Topic);
        var set = DetectorHost.Decode<DetectionSet>(message);
        foreach (var d in set.Detections) output.WriteLine($"{d.Label} {d.Confidence:F2} [{d.Box.X1:F0},{d.Box.Y1:F0},{d.Box.X2:F0},{d.Box.Y2:F0}]");
        Assert.Equal(("test", 810, 1080, "yolov8n_int8_dynamic"), (set.Camera, set.ImageWidth, set.ImageHeight, set.ModelId));
        Assert.All(set.Detections, d => Assert.True(d.Confidence >= 0.25f));
        Assert.True(set.Timings.InferenceMs > 0 && set.Timings.DecodeMs > 0 && set.Timings.LetterboxMs > 0 && set.Timings.PostprocessMs > 0);
        Assert.Equal("CPU", Assert.Single(detector.Worker.Models).Provider);
        return set;
    }

    [Fact]
    public async Task Yolox_nano_finds_the_bus_and_at_least_three_people()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloX,
            ["Detector:Providers"] = "CUDA,CPU",
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("test", File.ReadAllBytes(TestData.Sample("bus.jpg")));

        var set = DetectorHost.Decode<DetectionSet>((await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)))[0]);
        foreach (var d in set.Detections) output.WriteLine($"{d.Label} {d.Confidence:F2} [{d.Box.X1:F0},{d.Box.Y1:F0},{d.Box.X2:F0},{d.Box.Y2:F0}]");
        Assert.Equal(ModelType.YoloX, detector.Worker.Models[0].Type);
        var bus = Assert.Single(set.Detections, d => d.Label == "bus");
        Assert.True(bus.Box.IoU(BusReference[3].Box) > 0.8f, $"bus at {bus.Box}");
        Assert.True(set.Detections.Count(d => d.Label == "person") >= 3);
    }

    [Fact]
    public async Task Detector_runs_over_nats_as_well()
    {
        await using var server = await NatsServer.StartNewAsync();
        await using var detector = await DetectorHost.StartAsync(server.Url, new Dictionary<string, string?> { ["Detector:ModelPath"] = DetectorHost.YoloX });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync("test", File.ReadAllBytes(TestData.Sample("bus.jpg")));

        var message = Assert.Single(await Receive.ExactlyAsync(detections, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal("edge/detections/test", message.Topic);
        Assert.Contains(DetectorHost.Decode<DetectionSet>(message).Detections, d => d.Label == "bus");
    }

    [Fact]
    public async Task Bad_frames_are_reported_on_the_error_topic_and_the_worker_keeps_running()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloX,
            ["Transport:MaxPayloadBytes"] = "4000000",
        });
        await using var errors = await detector.SubscribeAsync("edge/errors/detector");
        await using var detections = await detector.SubscribeAsync("edge/detections/+");
        var jpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));

        await detector.PublishFrameAsync("truncated", jpeg.AsMemory(0, jpeg.Length / 3));
        await detector.PublishFrameAsync("empty", Array.Empty<byte>());
        await detector.PublishFrameAsync(new Frame { Camera = "raw", Encoding = FrameEncoding.Rgb24, Width = 640, Height = 480, Data = new byte[1000] });
        await detector.PublishFrameAsync("garbage", "not a frame at all"u8.ToArray());
        await detector.PublishFrameAsync("huge", new byte[5_000_000]);
        await detector.PublishFrameAsync("notjpeg", new byte[] { 0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02 });

        var reported = (await Receive.ExactlyAsync(errors, 6, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<ErrorEvent>).ToList();
        foreach (var e in reported) output.WriteLine($"{e.Kind} {e.Camera} {e.Topic}: {e.Message}");
        Assert.Equal(
            [
                ("truncated", ErrorKinds.DecodeFailed), ("empty", ErrorKinds.MalformedPayload), ("raw", ErrorKinds.InvalidFrame),
                ("garbage", ErrorKinds.MalformedPayload), ("huge", ErrorKinds.PayloadTooLarge), ("notjpeg", ErrorKinds.DecodeFailed),
            ],
            reported.Select(e => (e.Topic!.Split('/')[^1], e.Kind)).OrderBy(e => e.Item1 switch
            {
                "truncated" => 0,
                "empty" => 1,
                "raw" => 2,
                "garbage" => 3,
                "huge" => 4,
                _ => 5,
            }));
        Assert.All(reported, e => Assert.Equal("detector", e.Component));

        // Still running: a raw RGB frame and a PNG both come through.
        var raw = TestImages.RawRgb("bus.jpg", "rawcam");
        await detector.PublishFrameAsync(raw with { Sequence = 42 });
        await detector.PublishFrameAsync("pngcam", TestImages.Encode(raw, SkiaSharp.SKEncodedImageFormat.Png));
        var sets = (await Receive.ExactlyAsync(detections, 2, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<DetectionSet>).ToList();
        Assert.Equal(["pngcam", "rawcam"], sets.Select(s => s.Camera).Order());
        Assert.All(sets, s => Assert.Contains(s.Detections, d => d.Label == "bus"));
        Assert.Equal(42, sets.Single(s => s.Camera == "rawcam").FrameSequence);
    }

    [Fact]
    public async Task Flood_of_frames_processes_the_newest_counts_drops_and_bounds_memory_and_latency()
    {
        // 3 cameras at 60 fps each: several times what YOLOv8n does on an idle 2-core CPU (bench/README.md, "Detector").
        // Frames may wait up to 30 s (MaxFrameAge), so
        // a queue that kept old frames would show latencies of seconds. Stated bound: with latest-frame-wins a frame waits
        // at most one turn of the other cameras plus the batches in flight, so capture → detection stays under
        // (cameras + 3) × the slowest per-frame processing time of the run (about 0.5 s on an idle machine).
        const int cameras = 3, fps = 60;
        var flood = TimeSpan.FromSeconds(4);
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloV8,
            ["Detector:MaxFrameAge"] = "00:00:30",
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");
        var worker = detector.Worker;
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 640, 480);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var published = 0;
        var maxWaiting = 0;
        var lastSequence = -1;
        var clock = Stopwatch.StartNew();
        for (var tick = 0; clock.Elapsed < flood; tick++)
        {
            lastSequence = tick;
            for (var c = 0; c < cameras; c++)
            {
                await detector.PublishFrameAsync(new Frame { Camera = $"cam{c}", Sequence = tick, CapturedAt = DateTimeOffset.UtcNow, Encoding = FrameEncoding.Jpeg, Data = jpeg });
                published++;
            }
            maxWaiting = Math.Max(maxWaiting, worker.WaitingFrames);
            var next = TimeSpan.FromSeconds((tick + 1.0) / fps);
            if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
        }
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var received = await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromSeconds(3));

        var sets = received.Select(m => (Set: DetectorHost.Decode<DetectionSet>(m), m.ReceivedAt)).ToList();
        var latencies = sets.Select(s => s.ReceivedAt - s.Set.CapturedAt).ToList();
        var slowest = sets.Max(s => s.Set.Timings.DecodeMs + s.Set.Timings.LetterboxMs + s.Set.Timings.InferenceMs + s.Set.Timings.PostprocessMs);
        var latencyBound = TimeSpan.FromMilliseconds((cameras + 3) * slowest);
        output.WriteLine($"published {published}, processed {worker.Stats.Processed}, dropped {worker.Stats.TotalDropped} " +
            $"({string.Join(", ", worker.Stats.Drops.Select(d => $"{d.Key.Camera}/{d.Key.Reason}={d.Value}"))}), intake dropped {worker.IntakeDropped}");
        output.WriteLine($"latency ms: max {latencies.Max().TotalMilliseconds:F0}, mean {latencies.Average(l => l.TotalMilliseconds):F0}, bound {latencyBound.TotalMilliseconds:F0}; " +
            $"heap growth {(heapAfter - heapBefore) / 1e6:F1} MB; max waiting {maxWaiting}; RSS {Environment.WorkingSet / 1e6:F0} MB");
        output.WriteLine($"mean ms: queue {sets.Average(s => s.Set.Timings.QueueMs):F1}, decode {sets.Average(s => s.Set.Timings.DecodeMs):F1}, letterbox {sets.Average(s => s.Set.Timings.LetterboxMs):F1}, " +
            $"inference {sets.Average(s => s.Set.Timings.InferenceMs):F1}, postprocess {sets.Average(s => s.Set.Timings.PostprocessMs):F1}");

        Assert.True(published > 3 * sets.Count, $"not overloaded: {published} published, {sets.Count} processed");
        Assert.Equal(published, worker.Stats.Processed + worker.Stats.TotalDropped + worker.IntakeDropped);
        Assert.Equal(worker.Stats.Processed, worker.Stats.Published);
        Assert.Equal(worker.Stats.Processed, sets.Count);
        for (var c = 0; c < cameras; c++)
        {
            var camera = $"cam{c}";
            var sequences = sets.Where(s => s.Set.Camera == camera).Select(s => s.Set.FrameSequence).ToList();
            Assert.Equal(sequences.Order(), sequences);
            Assert.True(sequences[^1] >= lastSequence - 1, $"{camera}'s newest frame {lastSequence} not processed; last was {sequences[^1]}");
            Assert.True(worker.Stats.Dropped(camera, DropReasons.Superseded) > 0);
        }
        Assert.All(latencies, l => Assert.True(l < latencyBound, $"capture → detection took {l.TotalMilliseconds:F0} ms"));
        Assert.InRange(maxWaiting, 0, cameras);
        Assert.True(heapAfter - heapBefore < 64_000_000, $"managed heap grew by {(heapAfter - heapBefore) / 1e6:F1} MB");
    }

    [Fact]
    public async Task Frames_older_than_the_maximum_age_are_dropped_as_stale_and_counted()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = DetectorHost.YoloX,
            ["Detector:MaxFrameAge"] = "00:00:00",
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 320, 240);

        for (var i = 0; i < 3; i++) await detector.PublishFrameAsync($"cam{i}", jpeg);

        var stats = detector.Worker.Stats;
        var deadline = Stopwatch.StartNew();
        while (stats.TotalDropped < 3 && deadline.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(1, stats.Dropped($"cam{i}", DropReasons.Stale)));
        Assert.Empty(await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, stats.Processed);
    }

    [Fact]
    public async Task Detectors_in_one_shared_group_split_the_frames_without_duplicates()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        var settings = new Dictionary<string, string?> { ["Detector:ModelPath"] = DetectorHost.YoloX, ["Detector:Group"] = "detectors" };
        await using var first = await DetectorHost.StartAsync(broker.Url, settings);
        await using var second = await DetectorHost.StartAsync(broker.Url, settings);
        await using var detections = await first.SubscribeAsync("edge/detections/+");
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 320, 240);

        for (var i = 0; i < 6; i++) await first.PublishFrameAsync($"cam{i}", jpeg);

        var sets = (await Receive.ExactlyAsync(detections, 6, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<DetectionSet>).ToList();
        Assert.Empty(await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"cam{i}"), sets.Select(s => s.Camera).Order());
        Assert.True(first.Worker.Stats.Processed > 0 && second.Worker.Stats.Processed > 0,
            $"one detector did all the work: {first.Worker.Stats.Processed} / {second.Worker.Stats.Processed}");
        Assert.Equal(6, first.Worker.Stats.Processed + second.Worker.Stats.Processed);
    }

    [Fact]
    public async Task Detectors_in_partitions_split_the_cameras_and_keep_each_camera_on_one_of_them()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        Dictionary<string, string?> Settings(string partition) => new() { ["Detector:ModelPath"] = DetectorHost.YoloX, ["Detector:Partition"] = partition };
        await using var first = await DetectorHost.StartAsync(broker.Url, Settings("0/2"));
        await using var second = await DetectorHost.StartAsync(broker.Url, Settings("1/2"));
        await using var detections = await first.SubscribeAsync("edge/detections/+");
        var jpeg = TestImages.ResizedJpeg("bus.jpg", 320, 240);
        var cameras = Enumerable.Range(0, 6).Select(i => $"cam{i}").ToList();

        var sets = new List<DetectionSet>();
        for (var round = 0; round < 2; round++)
        {
            foreach (var camera in cameras) await first.PublishFrameAsync(camera, jpeg);
            sets.AddRange((await Receive.ExactlyAsync(detections, cameras.Count, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<DetectionSet>));
        }

        Assert.Empty(await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(cameras.Concat(cameras).Order(), sets.Select(s => s.Camera).Order());
        var inFirst = cameras.Count(c => CameraPartition.Of(c, 2) == 0);
        Assert.InRange(inFirst, 1, cameras.Count - 1);
        Assert.Equal((2 * inFirst, 2 * (cameras.Count - inFirst)), (first.Worker.Stats.Processed, second.Worker.Stats.Processed));
    }

    [Fact]
    public async Task Missing_model_file_fails_start_up_with_the_file_name()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-model-{Guid.NewGuid():N}.onnx");
        using var host = DetectorHost.Build($"mqtt://127.0.0.1:{FreePort.Next()}", new Dictionary<string, string?> { ["Detector:ModelPath"] = missing });

        var ex = await Assert.ThrowsAsync<FileNotFoundException>(() => host.StartAsync());

        Assert.Contains(missing, ex.Message);
        await host.StopAsync();
    }

    private static bool Near(Box a, Box b, float tolerance) =>
        Math.Abs(a.X1 - b.X1) <= tolerance && Math.Abs(a.Y1 - b.Y1) <= tolerance &&
        Math.Abs(a.X2 - b.X2) <= tolerance && Math.Abs(a.Y2 - b.Y2) <= tolerance;
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealModels
{
    public const string Name = "real models";
}

/// <summary>Batching across cameras, on a hand-written model with a dynamic batch dimension.</summary>
[Collection(RealModels.Name)]
public class Batching_Tests : IDisposable
{
    private readonly string _model = Path.Combine(Path.GetTempPath(), $"tiny-{Guid.NewGuid():N}.onnx");

    public Batching_Tests() => TinyOnnxModel.Write(_model, size: 16, classes: 2);

    public void Dispose() => File.Delete(_model);

    private static Frame RandomFrame(string camera, int seed)
    {
        var data = new byte[16 * 16 * 3];
        new Random(seed).NextBytes(data);
        return new Frame { Camera = camera, Sequence = seed, Encoding = FrameEncoding.Rgb24, Width = 16, Height = 16, Data = data };
    }

    [Fact]
    public async Task Frames_from_several_cameras_run_as_one_batch_and_each_gets_its_own_detections()
    {
        var options = new DetectorOptions { ModelPath = _model, Providers = "CPU" };
        using var single = Inference.DetectorModel.Load(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(single.DynamicBatch);
        var post = new Postprocessing.DetectionPostprocessor(single.CreateDecoder(), single.Labels, options.Confidence, options.Iou, options.MaxDetections);
        var pre = new Imaging.FramePreprocessor(single.Input, options.MaxImagePixels);
        var frames = Enumerable.Range(0, 4).Select(i => RandomFrame($"cam{i}", i)).ToList();
        var expected = frames.ToDictionary(f => f.Camera, f =>
        {
            var input = new float[single.Input.TensorLength];
            var box = pre.Prepare(f, input, out _);
            using var outputs = single.Run(input, 1);
            return post.Process(outputs[0].GetTensorDataAsSpan<float>(), box)!;
        });
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?>
        {
            ["Detector:ModelPath"] = _model,
            ["Detector:MaxBatch"] = "4",
            ["Detector:BatchDeadline"] = "00:00:01",
        });
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        foreach (var frame in frames) await detector.PublishFrameAsync(frame);

        var sets = (await Receive.ExactlyAsync(detections, 4, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<DetectionSet>).ToList();
        Assert.True(detector.Worker.Stats.LargestBatch > 1, "no batch of more than one frame ran");
        Assert.All(sets, set => Assert.Equal(expected[set.Camera], set.Detections));
        Assert.All(expected.Values, e => Assert.NotEmpty(e));
    }

    [Fact]
    public async Task A_model_that_outputs_only_nan_is_reported_as_a_model_output_error()
    {
        TinyOnnxModel.Write(_model, size: 16, classes: 2, divideByZero: true);
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = await DetectorHost.StartAsync(broker.Url, new Dictionary<string, string?> { ["Detector:ModelPath"] = _model });
        await using var errors = await detector.SubscribeAsync("edge/errors/detector");
        await using var detections = await detector.SubscribeAsync("edge/detections/+");

        await detector.PublishFrameAsync(RandomFrame("cam0", 1));
        await detector.PublishFrameAsync(RandomFrame("cam1", 2));

        var reported = (await Receive.ExactlyAsync(errors, 2, TimeSpan.FromSeconds(20))).Select(DetectorHost.Decode<ErrorEvent>).ToList();
        Assert.All(reported, e => Assert.Equal(ErrorKinds.ModelOutput, e.Kind));
        Assert.Equal(["cam0", "cam1"], reported.Select(e => e.Camera).Order());
        Assert.Empty(await Receive.UntilQuietAsync(detections.Messages, TimeSpan.FromMilliseconds(300)));
    }
}
