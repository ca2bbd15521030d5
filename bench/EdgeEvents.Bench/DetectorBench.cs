using System.Diagnostics;
using System.Diagnostics.Metrics;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Pipeline.Broker;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace EdgeEvents.Bench;

/// <summary>
/// Frames/s of the whole detector worker (MQTT in, decode, letterbox, inference, decode+NMS, MQTT out) next to a bare
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// loop on the same model, session settings and (already letterboxed) input, in the same run. The worker is kept
/// saturated by a camera publishing bus.jpg faster than it can keep up (latest frame wins). Also prints per-stage
/// milliseconds, pre+post as a share of inference, resident memory, and decode costs for bus.jpg and a 1080p JPEG.
/// Usage: detector [--quick] [--model path] [--seconds N] [--sessions-variant]
/// </summary>
public static class DetectorBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var seconds = Option(args, "--seconds") is { } s ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : quick ? 5 : 20;
        var modelPath = Option(args, "--model") ?? TestData.Model("yolov8n_int8_dynamic.onnx");
        var busJpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        var options = new DetectorOptions { ModelPath = modelPath, Providers = "CPU" };
        Console.WriteLine($"detector bench: {Path.GetFileName(modelPath)}, {Environment.ProcessorCount} cores, {seconds:0} s per phase, {DateTime.UtcNow:yyyy-MM-dd}");

        using var model = DetectorModel.Load(options, NullLogger.Instance);
        DecodeCosts(model.Input, busJpeg, quick ? 20 : 100);

        var input = new float[model.Input.TensorLength];
        new FramePreprocessor(model.Input, options.MaxImagePixels).Prepare(new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = busJpeg }, input, out _);
        var bare = BareSessionFps(options, model, input, TimeSpan.FromSeconds(seconds));
        Console.WriteLine($"bare InferenceSession.Run: {bare.Fps:F2} frames/s ({bare.MsPerRun:F1} ms/run)");

        var worker = await WorkerFpsAsync(options, busJpeg, bare.Fps, TimeSpan.FromSeconds(seconds));
        PrintWorker("worker, 1 session", worker, bare.Fps);
        if (args.Contains("--sessions-variant"))
        {
            var two = await WorkerFpsAsync(options with { Sessions = 2, IntraOpThreads = 1 }, busJpeg, bare.Fps, TimeSpan.FromSeconds(seconds));
            PrintWorker("worker, 2 sessions x 1 thread", two, bare.Fps);
        }
        Console.WriteLine($"resident memory: {Environment.WorkingSet / 1e6:F0} MB now, peak {PeakRssMb():F0} MB");
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Decode and letterbox time of bus.jpg (810x1080) and a 1920x1080 JPEG made here by upscaling it.</summary>
    private static void DecodeCosts(InputFormat format, byte[] busJpeg, int iterations)
    {
        var pre = new FramePreprocessor(format, 4096L * 4096);
        var tensor = new float[format.TensorLength];
        Console.WriteLine("| image | decode ms | letterbox ms |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, jpeg) in new[] { ("bus.jpg 810x1080", busJpeg), ("1920x1080 JPEG", Upscaled(busJpeg, 1920, 1080)) })
        {
            var frame = new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = jpeg };
            for (var i = 0; i < 5; i++) pre.Prepare(frame, tensor, out _);
            double decode = 0, letterbox = 0;
            for (var i = 0; i < iterations; i++)
            {
                pre.Prepare(frame, tensor, out var t);
                decode += t.DecodeMs;
                letterbox += t.LetterboxMs;
            }
            Console.WriteLine($"| {name} | {decode / iterations:F2} | {letterbox / iterations:F2} |");
        }
    }

    private static byte[] Upscaled(byte[] jpeg, int width, int height)
    {
        using var source = SKBitmap.Decode(jpeg);
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target)) canvas.DrawBitmap(source, SKRect.Create(width, height), new SKSamplingOptions(SKFilterMode.Linear), null);
        using var image = SKImage.FromBitmap(target);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>The baseline: one session with the worker's settings, the same input tensor, Run in a loop.</summary>
    private static (double Fps, double MsPerRun) BareSessionFps(DetectorOptions options, DetectorModel model, float[] input, TimeSpan duration)
    {
        using var sessionOptions = DetectorModel.NewSessionOptions(options);
        using var session = new InferenceSession(model.Path, sessionOptions);
        using var runOptions = new RunOptions();
        var inputNames = new[] { session.InputMetadata.Keys.First() };
        var outputNames = new[] { session.OutputMetadata.Keys.First() };
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 3, model.Input.Height, model.Input.Width]);
        var inputs = new[] { value };
        for (var i = 0; i < 3; i++) session.Run(runOptions, inputNames, inputs, outputNames).Dispose();
        var runs = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            session.Run(runOptions, inputNames, inputs, outputNames).Dispose();
            runs++;
        }
        return (runs / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalMilliseconds / runs);
    }

    private sealed record WorkerResult(double Fps, int Frames, double QueueMs, double DecodeMs, double LetterboxMs, double InferenceMs, double PostprocessMs, double PublishMs, long Dropped);

    /// <summary>
    /// The worker on an embedded broker, fed bus.jpg as a bare JPEG at 1.5x the bare rate (so a frame is always waiting).
    /// Counts detection sets received in the measured window after a warm-up.
    /// </summary>
    private static async Task<WorkerResult> WorkerFpsAsync(DetectorOptions options, byte[] jpeg, double bareFps, TimeSpan duration)
    {
        await using var broker = await EmbeddedBroker.StartAsync(new BrokerOptions { Port = 0 }, NullLogger.Instance);
        await using var component = await TestTransports.ComponentAsync(TestTransports.Options(broker.Url), "detector");
        var worker = new DetectorWorker(options, component, NullLoggerFactory.Instance);
        await worker.StartAsync(CancellationToken.None);
        await using var observer = await TestTransports.ConnectAsync(broker.Url);
        await using var detections = await observer.SubscribeAsync(new SubscriptionRequest("edge/detections/+") { Capacity = 4096 }, default);
        using var publishTimes = new StageListener("publish");

        using var stop = new CancellationTokenSource();
        var interval = TimeSpan.FromSeconds(1 / (1.5 * bareFps));
        var camera = Task.Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                await observer.PublishAsync(new OutgoingMessage("edge/frames/bench", jpeg) { Delivery = Delivery.AtMostOnce }, default);
                var next = interval * (n + 1);
                if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
            }
        });

        var warmUp = TimeSpan.FromSeconds(2);
        var sets = new List<DetectionSet>();
        var window = Stopwatch.StartNew();
        Stopwatch? measured = null;
        while (window.Elapsed < warmUp + duration)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var message = await detections.Messages.ReadAsync(timeout.Token);
            if (window.Elapsed < warmUp) continue;
            measured ??= Stopwatch.StartNew();
            sets.Add(MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType));
        }
        var fps = sets.Count / measured!.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await camera;
        await worker.StopAsync(CancellationToken.None);
        return new WorkerResult(fps, sets.Count,
            sets.Average(x => x.Timings.QueueMs), sets.Average(x => x.Timings.DecodeMs), sets.Average(x => x.Timings.LetterboxMs),
            sets.Average(x => x.Timings.InferenceMs), sets.Average(x => x.Timings.PostprocessMs), publishTimes.Mean, worker.Stats.TotalDropped);
    }

    private static void PrintWorker(string name, WorkerResult r, double bareFps)
    {
        var prePost = r.LetterboxMs + r.PostprocessMs;
        Console.WriteLine($"{name}: {r.Fps:F2} frames/s = {r.Fps / bareFps:P0} of bare ({r.Frames} frames, {r.Dropped} superseded by newer ones)");
        Console.WriteLine("| stage | mean ms |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| queue (receipt → start) | {r.QueueMs:F1} |");
        Console.WriteLine($"| decode | {r.DecodeMs:F1} |");
        Console.WriteLine($"| letterbox | {r.LetterboxMs:F1} |");
        Console.WriteLine($"| inference | {r.InferenceMs:F1} |");
        Console.WriteLine($"| decode+NMS | {r.PostprocessMs:F2} |");
        Console.WriteLine($"| publish | {r.PublishMs:F2} |");
        Console.WriteLine($"letterbox+postprocess = {prePost / r.InferenceMs:P1} of inference; with JPEG decode {(prePost + r.DecodeMs) / r.InferenceMs:P1}");
    }

    private static double PeakRssMb()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>Mean of the detector's stage-duration histogram for one stage, from the EdgeEvents meter.</summary>
    private sealed class StageListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private double _sum;
        private long _count;

        public StageListener(string stage)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "edge.detector.stage.duration") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "stage" && (string?)tag.Value == stage)
                    {
                        lock (_listener) { _sum += value; _count++; }
                    }
                }
            });
            _listener.Start();
        }

        public double Mean
        {
            get { lock (_listener) return _count == 0 ? double.NaN : _sum / _count; }
        }

        public void Dispose() => _listener.Dispose();
    }
}
