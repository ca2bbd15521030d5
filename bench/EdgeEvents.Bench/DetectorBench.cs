using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using EdgeEvents.Broker;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Contracts.Serialization;
using EdgeEvents.Detector;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Detector.Snapshots;
using EdgeEvents.Pipeline.Transport;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Frames/s of the whole detector worker (MQTT in, decode, letterbox, inference, decode+NMS, MQTT out) next to a bare
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue},
/// IReadOnlyCollection{string})"/> loop on the same model, session settings and (already letterboxed) input, in the
/// same run. The worker is kept saturated by a camera publishing bus.jpg faster than it can keep up (latest frame
/// wins). Also prints per-stage milliseconds, pre+post as a share of inference, resident memory, and decode costs for
/// bus.jpg and a 1080p JPEG.
/// <c>--snapshots</c> compares throughput with annotated snapshots on (1/s per camera) and off instead.
/// </summary>
public static class DetectorBench
{
    /// <summary>What one run measures; <see cref="Command"/> documents each value's default.</summary>
    public sealed record Settings(
        bool Quick, string ModelPath, double Seconds, int Rounds, string Broker, (int Width, int Height)? FrameSize,
        double Overload, int? IntraOpThreads, int? InferenceNice, bool SessionsVariant, bool SpinningVariant,
        bool Snapshots, int Cameras, int? SnapshotMaxWidth);

    public static Command Command()
    {
        var quick = BenchOptions.Quick("Shorter rounds (4 s), 1 round (3 with --snapshots), fewer decode iterations");
        var model = new Option<string>("--model") { Description = "ONNX model [default: yolov8n_int8_dynamic.onnx]" };
        var seconds = new Option<double>("--seconds")
        {
            Description = "Seconds per side and round [default: 10, --quick 4]",
        };
        var rounds = new Option<int>("--rounds")
        {
            Description = "Alternating rounds, median ratio [default: 5, --quick 1; with --snapshots 7, --quick 3]",
        };
        var broker = BenchOptions.WithDefault(
            "--broker", "Broker the cameras publish through: embedded (in this process) or mosquitto",
                MqttTestBroker.Embedded);
        broker.AcceptOnlyFromAmong(MqttTestBroker.Embedded, MqttTestBroker.Mosquitto);
        var frameSize = new Option<(int, int)?>("--frame-size")
        {
            Description = "Cameras publish bus.jpg resized to WxH, e.g. 480x640 (a camera's analytics substream)",
            CustomParser = ParseSize,
        };
        var overload = BenchOptions.WithDefault("--overload",
            "Offered frame rate as a multiple of the bare rate", 1.25);
        var threads = new Option<int?>("--intra-op-threads")
        {
            Description = "Detector:IntraOpThreads [default: the option's]",
        };
        var nice = new Option<int?>("--inference-nice")
        {
            Description = "Detector:InferenceNice [default: the option's]",
        };
        var sessions = new Option<bool>("--sessions-variant") { Description = "Also measure 2 sessions x 1 thread" };
        var spinning = new Option<bool>("--spinning-variant") { Description = "Also measure intra-op spinning on" };
        var snapshots = new Option<bool>("--snapshots") { Description = "Compare snapshots on and off instead" };
        var cameras = BenchOptions.WithDefault("--cameras", "Cameras for --snapshots", 4);
        var maxWidth = new Option<int?>("--snapshot-max-width")
        {
            Description = "Detector:SnapshotMaxWidth for --snapshots",
        };
        var command = new Command("detector",
            "Frames/s of the detector worker next to a bare InferenceSession.Run loop.")
        {
            quick, model, seconds, rounds, broker, frameSize, overload, threads, nice, sessions, spinning, snapshots,
            cameras, maxWidth,
        };
        command.SetAction(parse =>
        {
            var isQuick = parse.GetValue(quick);
            var isSnapshots = parse.GetValue(snapshots);
            return RunAsync(new Settings(
                isQuick,
                parse.GetValue(model) ?? TestData.Model("yolov8n_int8_dynamic.onnx"),
                parse.GivenOr(seconds, isQuick ? 4 : 10),
                parse.GivenOr(rounds, isSnapshots ? (isQuick ? 3 : 7) : (isQuick ? 1 : 5)),
                parse.GetRequiredValue(broker),
                parse.GetValue(frameSize),
                parse.GetValue(overload),
                parse.GetValue(threads),
                parse.GetValue(nice),
                parse.GetValue(sessions),
                parse.GetValue(spinning),
                isSnapshots,
                parse.GetValue(cameras),
                parse.GetValue(maxWidth)));
        });
        return command;
    }

    public static async Task<int> RunAsync(Settings settings)
    {
        var busJpeg = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        var options = new DetectorOptions { ModelPath = settings.ModelPath, Providers = "CPU" };
        if (settings.IntraOpThreads is { } threads) options = options with { IntraOpThreads = threads };
        if (settings.InferenceNice is { } nice) options = options with { InferenceNice = nice };
        var (seconds, rounds) = (settings.Seconds, settings.Rounds);
        Console.WriteLine($"detector bench: {Path.GetFileName(settings.ModelPath)}, {settings.Broker} broker, " +
            $"{Environment.ProcessorCount} cores, {rounds} alternating round(s) of {seconds:0} s per side, " +
                $"median ratio, " +
            $"inference threads at nice {options.InferenceNice}, {DateTime.UtcNow:yyyy-MM-dd}");

        if (settings.Snapshots)
        {
            var snapshotOptions = options with
            {
                SnapshotMaxWidth = settings.SnapshotMaxWidth
                ?? options.SnapshotMaxWidth
            };
            await CompareSnapshotsAsync(settings.Broker, snapshotOptions, busJpeg, settings.Cameras, rounds,
                TimeSpan.FromSeconds(seconds));
            return 0;
        }
        using var model = DetectorModel.Load(options, NullLogger.Instance);
        DecodeCosts(model.Input, busJpeg, settings.Quick ? 20 : 100);
        var input = new float[model.Input.TensorLength];
        var frameJpeg = busJpeg;
        if (settings.FrameSize is var (w, h))
        {
            frameJpeg = Resampled(busJpeg, w, h);
            Console.WriteLine($"frames: bus.jpg resized to {w}x{h}, {frameJpeg.Length / 1024} KB");
        }
        var frame = new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = frameJpeg };
        new FramePreprocessor(model.Input, options.MaxImagePixels, options.Preprocess).Prepare(frame, input, out _);
        var slice = TimeSpan.FromSeconds(seconds);
        // Offered rate as a multiple of the bare rate: above 1 saturates the worker ("model busy" ≈ 100 % in every
        // round shows it); every frame above what it processes is still received (and an embedded broker runs in
        // this process), so a larger factor charges the worker for the bench's own traffic on the shared cores.
        var overload = settings.Overload;
        var threadsName = options.IntraOpThreads == 0 ? "default threads" : $"{options.IntraOpThreads} threads";
        await CompareAsync($"1 session, {threadsName}, no spinning", settings.Broker, options, model, input, frameJpeg,
            rounds, slice, overload);
        // Frames in parallel (one single-threaded session per core) instead of one frame on all cores: the CPU
        // counterpart of batching, which needs a model with a dynamic batch dimension.
        if (settings.SessionsVariant)
            await CompareAsync("2 sessions x 1 thread", settings.Broker,
                options with { Sessions = 2, IntraOpThreads = 1 },
                model, input, frameJpeg, rounds, slice, overload);
        if (settings.SpinningVariant)
            await CompareAsync("1 session, intra-op spinning on", settings.Broker,
                options with { IntraOpSpinning = true },
                model, input, frameJpeg, rounds, slice, overload);
        Console.WriteLine($"resident memory: {Environment.WorkingSet / 1e6:F0} MB now, peak " +
            $"{ProcFs.OwnStatusKb("VmHWM") / 1024:F0} MB");
        return 0;
    }

    private static (int, int)? ParseSize(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        var parts = text.Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var width) && width > 0
            && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var height) && height > 0)
            return (width, height);
        result.AddError($"'{text}' is not a frame size; use WxH, e.g. 480x640.");
        return null;
    }

    /// <summary>
    /// Alternates bare and worker measurements (bare first in even rounds, the worker first in odd ones, so drift in
    /// the machine's load hits both alike) after a short warm-up of the worker, and reports the median of the per-round
    /// ratios: on a shared machine single rounds swing by several percent either way.
    /// </summary>
    private static async Task CompareAsync(string name, string brokerKind, DetectorOptions options, DetectorModel model,
        float[] input, byte[] jpeg, int rounds, TimeSpan slice, double overload)
    {
        using var bare = new BareSessions(options, model, input);
        await using var rig = await WorkerRig.StartAsync(options, brokerKind);
        // The worker's first seconds run code the JIT has not optimised yet; the bare loop is warmed by its
        // constructor.
        await rig.MeasureAsync(jpeg, overload * bare.Measure(TimeSpan.FromSeconds(1)).Fps, TimeSpan.FromSeconds(3));
        var measured = new List<(double BareFps, double BarePerCpu, WorkerResult Worker)>();
        for (var r = 0; r < rounds; r++)
        {
            (double Fps, double PerCpuSecond) bareRound;
            WorkerResult result;
            if (r % 2 == 0)
            {
                bareRound = bare.Measure(slice);
                result = await rig.MeasureAsync(jpeg, overload * bareRound.Fps, slice);
            }
            else
            {
                result = await rig.MeasureAsync(jpeg, overload * measured[^1].BareFps, slice);
                bareRound = bare.Measure(slice);
            }
            measured.Add((bareRound.Fps, bareRound.PerCpuSecond, result));
            Console.WriteLine($"  round {r + 1}: bare {bareRound.Fps:F2} frames/s ({bareRound.PerCpuSecond:F2} per " +
                $"CPU-s), worker {result.Fps:F2} frames/s ({result.PerCpuSecond:F2} per CPU-s): " +
                $"{result.Fps / bareRound.Fps:P0} wall-clock, {result.PerCpuSecond / bareRound.PerCpuSecond:P0} per " +
                    $"CPU-s; model busy {result.ModelBusy:P0}");
        }
        var median = measured.OrderBy(m => m.Worker.Fps / m.BareFps).ElementAt(measured.Count / 2);
        Console.WriteLine($"{name}: bare InferenceSession.Run {median.BareFps:F2} frames/s " +
            $"({1000 * options.Sessions / median.BareFps:F1} ms/run per session), {median.BarePerCpu:F2} frames per " +
            $"CPU-second (median round)");
        PrintWorker(name, median.Worker, median.BareFps);
        Console.WriteLine($"per round ratios: " +
            $"{string.Join(" ", measured.Select(m => $"{m.Worker.Fps / m.BareFps:P0}"))}; best round " +
            $"{measured.Max(m => m.Worker.Fps / m.BareFps):P0}");
        Console.WriteLine($"per CPU-second: worker {median.Worker.PerCpuSecond:F2} = " +
            $"{Median(measured.Select(m => m.Worker.PerCpuSecond / m.BarePerCpu).ToList()):P0} of bare, median of " +
            $"rounds (the worker's figure includes the simulated " +
            $"cameras{(brokerKind == MqttTestBroker.Embedded ? " and the broker" : "")} in this process)");
    }

    /// <summary>
    /// Worker throughput at saturation with snapshots on (1 per second per camera) and off: two workers, each on its
    /// own broker, measured in turn (the order swapped every round, so drift in the machine's load hits both sides
    /// alike); the median of the per-round ratios is the result, since other processes on a shared machine swing single
    /// rounds.
    /// </summary>
    private static async Task CompareSnapshotsAsync(string brokerKind, DetectorOptions options, byte[] jpeg,
        int cameras, int rounds, TimeSpan slice)
    {
        Console.WriteLine($"snapshots on (1/s per camera, max width {options.SnapshotMaxWidth}) vs off: {cameras} " +
            $"cameras publishing bus.jpg at {SaturatingFps} frames/s in total, " +
            $"{rounds} alternating rounds of {slice.TotalSeconds:0} s per side");
        // CPU time (not wall-clock) per snapshot, before the workers start: the other processes on a shared machine do
        // not inflate it.
        foreach (var (name, image) in new[] { ("bus.jpg 810x1080", jpeg),
            ("1920x1080 JPEG", Resampled(jpeg, 1920, 1080)) })
        {
            foreach (var fromPipeline in new[] { true, false })
            {
                var cpuMs = SnapshotCpuMs(options, image, 50, fromPipeline);
                var share = cameras * cpuMs / (1000.0 * Environment.ProcessorCount);
                Console.WriteLine($"one snapshot of {name} " +
                    $"({(fromPipeline ? "the pipeline's decoded pixels" : "decoding again")}, draw 5 detections, " +
                    $"encode with {JpegEncoder.Library}): " +
                    $"{cpuMs:F1} CPU-ms = {share:P1} of {Environment.ProcessorCount} cores at {cameras} snapshots/s");
            }
        }
        using var snapshotTimes = new StageListener("snapshot");
        await using var off = await WorkerRig.StartAsync(options with { SnapshotsPerSecond = 0 }, brokerKind);
        await using var on = await WorkerRig.StartAsync(options with { SnapshotsPerSecond = 1 }, brokerKind);
        var ratios = new List<double>();
        var cpuRatios = new List<double>();
        Console.WriteLine("| round | off frames/s | on frames/s | on/off | off frames/CPU-s | on frames/CPU-s | " +
            "on/off per CPU-s | snapshots |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var r = 0; r < rounds; r++)
        {
            WorkerResult without, with;
            if (r % 2 == 0)
            {
                without = await off.MeasureAsync(jpeg, SaturatingFps, slice, cameras);
                with = await on.MeasureAsync(jpeg, SaturatingFps, slice, cameras);
            }
            else
            {
                with = await on.MeasureAsync(jpeg, SaturatingFps, slice, cameras);
                without = await off.MeasureAsync(jpeg, SaturatingFps, slice, cameras);
            }
            ratios.Add(with.Fps / without.Fps);
            cpuRatios.Add(with.PerCpuSecond / without.PerCpuSecond);
            Console.WriteLine($"| {r + 1} | {without.Fps:F2} | {with.Fps:F2} | {ratios[^1]:P1} | " +
                $"{without.PerCpuSecond:F2} | {with.PerCpuSecond:F2} | {cpuRatios[^1]:P1} | {with.Snapshots} |");
        }
        Console.WriteLine($"median on/off: {Median(ratios):P1} frames/s, {Median(cpuRatios):P1} frames per " +
            $"CPU-second (target: at least 98%); " +
            $"snapshot stage wall-clock in the worker {snapshotTimes.Mean:F1} ms mean, fastest " +
                $"{snapshotTimes.Min:F1} ms");
    }

    /// <summary>
    /// Process CPU milliseconds per snapshot of <paramref name="jpeg"/> (bus.jpg, maybe resized) with bus.jpg's five
    /// reference detections, drawn on the pixels a YOLOv8n pipeline decoded (what the worker does) or decoding again.
    /// </summary>
    private static double SnapshotCpuMs(DetectorOptions options, byte[] jpeg, int iterations, bool fromPipeline)
    {
        var renderer = new SnapshotRenderer(options.SnapshotQuality, options.SnapshotMaxWidth);
        var frame = new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = jpeg };
        DecodedImage? decoded = null;
        if (fromPipeline)
        {
            var pipeline = new FramePreprocessor(new InputFormat(options.DefaultInputSize, options.DefaultInputSize,
                Bgr: false, PixelDivisor: 255, Centered: true), options.MaxImagePixels, options.Preprocess);
            pipeline.Prepare(frame, new float[3 * options.DefaultInputSize * options.DefaultInputSize], out _);
            decoded = pipeline.CopyDecoded();
        }
        Detection Person(float confidence, Box box) =>
            new() { ClassId = 0, Label = "person", Confidence = confidence, Box = box };
        var set = new DetectionSet
        {
            Camera = "bench", ModelId = "bench", ImageWidth = 810, ImageHeight = 1080,
            Detections =
            [
                Person(0.91f, new Box(673, 381, 810, 879)),
                Person(0.90f, new Box(221, 407, 343, 856)),
                Person(0.89f, new Box(50, 398, 243, 904)),
                new Detection { ClassId = 5, Label = "bus", Confidence = 0.83f, Box = new Box(34, 230, 796, 774) },
                Person(0.43f, new Box(0, 549, 61, 869)),
            ],
        };
        for (var i = 0; i < 3; i++) renderer.Render(frame, set, decoded, out _);
        var cpu = CpuSeconds();
        for (var i = 0; i < iterations; i++) renderer.Render(frame, set, decoded, out _);
        return (CpuSeconds() - cpu) * 1000 / iterations;
    }

    // Well above what YOLOv8n does on 2 cores (~15 frames/s), so a frame of every camera is always waiting.
    private const double SaturatingFps = 40;

    /// <summary>
    /// Decode and letterbox time of bus.jpg (810x1080) and a 1920x1080 JPEG made here by upscaling it: mean and fastest
    /// iteration (the fastest is what the code costs when the shared machine leaves it alone).
    /// </summary>
    private static void DecodeCosts(InputFormat format, byte[] busJpeg, int iterations)
    {
        var tensor = new float[format.TensorLength];
        Console.WriteLine("| image | decoder | decode ms (mean / fastest) | letterbox ms (mean / fastest) |");
        Console.WriteLine("|---|---|---|---|");
        // The system's libjpeg-turbo (what the worker uses where it is installed) and SkiaSharp's: the same pixels.
        var decoders = TurboJpeg.Instance is null ? [false] : new[] { true, false };
        foreach (var (name, jpeg) in new[] { ("bus.jpg 810x1080", busJpeg),
            ("1920x1080 JPEG", Resampled(busJpeg, 1920, 1080)) })
            foreach (var turbo in decoders)
            {
                var pre = new FramePreprocessor(format, 4096L * 4096, PreprocessMode.Fast, turbo);
                var frame = new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = jpeg };
                for (var i = 0; i < 5; i++) pre.Prepare(frame, tensor, out _);
                double decode = 0, letterbox = 0, fastestDecode = double.MaxValue, fastestLetterbox = double.MaxValue;
                for (var i = 0; i < iterations; i++)
                {
                    pre.Prepare(frame, tensor, out var t);
                    decode += t.DecodeMs;
                    letterbox += t.LetterboxMs;
                    fastestDecode = Math.Min(fastestDecode, t.DecodeMs);
                    fastestLetterbox = Math.Min(fastestLetterbox, t.LetterboxMs);
                }
                Console.WriteLine($"| {name} | {(turbo ? "TurboJPEG" : "SkiaSharp")} | {decode / iterations:F2} / " +
                    $"{fastestDecode:F2} | {letterbox / iterations:F2} / {fastestLetterbox:F2} |");
            }
    }

    /// <summary><paramref name="jpeg"/> resampled to <paramref name="width"/>×<paramref name="height"/> and encoded
    /// again.</summary>
    private static byte[] Resampled(byte[] jpeg, int width, int height)
    {
        using var source = SKBitmap.Decode(jpeg);
        return Resized(source, width, height);
    }

    /// <summary><paramref name="source"/> drawn at <paramref name="width"/>×<paramref name="height"/> (bilinear) and
    /// encoded as a JPEG of quality 90.</summary>
    internal static byte[] Resized(SKBitmap source, int width, int height)
    {
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target)) canvas.DrawBitmap(source, SKRect.Create(width, height),
            new SKSamplingOptions(SKFilterMode.Linear), null);
        using var image = SKImage.FromBitmap(target);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>
    /// The baseline: as many sessions as the worker has, each with the worker's settings and its own thread, Run in a
    /// loop on the same (already letterboxed) input tensor; with the worker's <c>InferenceNice</c> too, on its run
    /// threads and (created on a thread at that value) ONNX Runtime's, although with nothing else running it changes
    /// nothing.
    /// </summary>
    internal sealed class BareSessions : IDisposable
    {
        private readonly List<(InferenceSession Session, OrtValue Input)> _sessions;
        private readonly RunOptions _runOptions = new();
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly int _nice;

        public BareSessions(DetectorOptions options, DetectorModel model, float[] input)
        {
            _nice = options.InferenceNice;
            _sessions = ThreadNice.RunOnNewThread("Bare sessions", _nice,
                () => Enumerable.Range(0, options.Sessions).Select(_ =>
            {
                using var sessionOptions = DetectorModel.NewSessionOptions(options);
                return (new InferenceSession(model.Path, sessionOptions),
                    OrtValue.CreateTensorValueFromMemory((float[])input.Clone(),
                    [1, 3, model.Input.Height, model.Input.Width]));
            }).ToList(), out var error);
            if (error is not null) Console.WriteLine($"warning: the bare loop's threads keep their priority: {error}");
            _inputNames = [_sessions[0].Session.InputMetadata.Keys.First()];
            _outputNames = [_sessions[0].Session.OutputMetadata.Keys.First()];
            Measure(TimeSpan.FromSeconds(1));
        }

        /// <summary>Total frames/s of all sessions running concurrently for <paramref name="duration"/>, and frames per
        /// CPU-second.</summary>
        public (double Fps, double PerCpuSecond) Measure(TimeSpan duration)
        {
            var runs = new int[_sessions.Count];
            var cpu = CpuSeconds();
            var clock = Stopwatch.StartNew();
            var threads = _sessions.Select((s, i) => new Thread(() =>
            {
                var inputs = new[] { s.Input };
                if (_nice != 0) ThreadNice.TrySet(_nice, inherited: false);
                while (clock.Elapsed < duration)
                {
                    s.Session.Run(_runOptions, _inputNames, inputs, _outputNames).Dispose();
                    runs[i]++;
                }
            })).ToList();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            return (runs.Sum() / clock.Elapsed.TotalSeconds, runs.Sum() / (CpuSeconds() - cpu));
        }

        public void Dispose()
        {
            foreach (var (session, input) in _sessions)
            {
                input.Dispose();
                session.Dispose();
            }
            _runOptions.Dispose();
        }
    }

    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private sealed record WorkerResult(double Fps, double PerCpuSecond, int Frames, double QueueMs, double DecodeMs,
        double LetterboxMs, double InferenceMs, double PostprocessMs, double PublishMs, long Dropped, long Snapshots,
        int Gen0Collections, int Gen2Collections, double GcPauseMsPerSecond, double AllocatedKbPerFrame)
    {
        /// <summary>Share of the time the session was running the model: saturated when close to 1 (a prepared frame
        /// always waiting).</summary>
        public double ModelBusy => Fps * InferenceMs / 1000;
    }

    /// <summary>
    /// The worker on a broker of its own, simulated cameras on one plain MQTT connection (<see cref="RawMqttCamera"/>),
    /// and an observer that counts detection sets.
    /// </summary>
    private sealed class WorkerRig : IAsyncDisposable
    {
        private readonly MqttTestBroker _broker;
        private readonly EdgeEvents.Pipeline.Hosting.EdgeComponent _component;
        private readonly DetectorWorker _worker;
        private readonly IMessageTransport _observer;
        private readonly IMessageSubscription _detections;
        private readonly RawMqttCamera _cameras;

        private WorkerRig(MqttTestBroker broker, EdgeEvents.Pipeline.Hosting.EdgeComponent component,
            DetectorWorker worker, IMessageTransport observer, IMessageSubscription detections, RawMqttCamera cameras)
        {
            (_broker, _component, _worker, _observer, _detections, _cameras) = (broker, component, worker, observer,
                detections, cameras);
        }

        /// <param name="brokerKind"><see cref="MqttTestBroker.Embedded"/> (in this process) or <see
        /// cref="MqttTestBroker.Mosquitto"/> (a process of its own).</param>
        public static async Task<WorkerRig> StartAsync(DetectorOptions options, string brokerKind)
        {
            var broker = await MqttTestBroker.StartAsync(brokerKind);
            var component = await TestTransports.ComponentAsync(TestTransports.Options(broker.Url), "detector");
            var worker = new DetectorWorker(options, component, NullLoggerFactory.Instance);
            await worker.StartAsync(CancellationToken.None);
            var observer = await TestTransports.ConnectAsync(broker.Url);
            var detections = await observer
                .SubscribeAsync(new SubscriptionRequest("edge/detections/+") { Capacity = 4096 }, default);
            var cameras = await RawMqttCamera.ConnectAsync(broker.Port, "bench-cameras", default);
            return new WorkerRig(broker, component, worker, observer, detections, cameras);
        }

        /// <summary>
        /// <paramref name="cameras"/> cameras publish bus.jpg as bare JPEGs at <paramref name="framesPerSecond"/> in
        /// total (above what the worker can do, so a frame is always waiting and the newest wins); counts detection
        /// sets for
        /// <paramref name="duration"/> after a one-second settling time, then stops and drains.
        /// </summary>
        public async Task<WorkerResult> MeasureAsync(byte[] jpeg, double framesPerSecond, TimeSpan duration,
            int cameras = 2)
        {
            using var publishTimes = new StageListener("publish");
            var droppedBefore = _worker.Stats.TotalDropped;
            using var stop = new CancellationTokenSource();
            var interval = TimeSpan.FromSeconds(cameras / framesPerSecond);
            var camera = Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    for (var c = 1; c <= cameras; c++) await _cameras.PublishAsync($"edge/frames/bench{c}",
                        jpeg, default);
                    var next = interval * (n + 1);
                    if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed);
                }
            });
            var settle = TimeSpan.FromSeconds(1);
            var sets = new List<DetectionSet>();
            var window = Stopwatch.StartNew();
            Stopwatch? measured = null;
            var cpuStart = 0.0;
            var snapshotsStart = 0L;
            var gcStart = (Gen0: 0, Gen2: 0, Pause: TimeSpan.Zero, Allocated: 0L);
            while (window.Elapsed < settle + duration)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var message = await _detections.Messages.ReadAsync(timeout.Token);
                if (window.Elapsed < settle) continue;
                if (measured is null)
                {
                    measured = Stopwatch.StartNew();
                    cpuStart = CpuSeconds();
                    snapshotsStart = _worker.Stats.Snapshots;
                    gcStart = (GC.CollectionCount(0), GC.CollectionCount(2), GC.GetTotalPauseDuration(),
                        GC.GetTotalAllocatedBytes());
                }
                sets.Add(MessageCodec.Deserialize<DetectionSet>(message.Payload, message.ContentType));
            }
            var fps = sets.Count / measured!.Elapsed.TotalSeconds;
            var perCpuSecond = sets.Count / (CpuSeconds() - cpuStart);
            var snapshots = _worker.Stats.Snapshots - snapshotsStart;
            var gc = (Gen0: GC.CollectionCount(0) - gcStart.Gen0, Gen2: GC.CollectionCount(2) - gcStart.Gen2,
                PauseMs: (GC.GetTotalPauseDuration() - gcStart.Pause).TotalMilliseconds / measured.Elapsed.TotalSeconds,
                KbPerFrame: (GC.GetTotalAllocatedBytes() - gcStart.Allocated) / 1024.0 / Math.Max(1, sets.Count));
            await stop.CancelAsync();
            await camera;
            await EdgeEvents.Testing.Receive.UntilQuietAsync(_detections.Messages, TimeSpan.FromSeconds(1));
            return new WorkerResult(fps, perCpuSecond, sets.Count,
                sets.Average(x => x.Timings.QueueMs), sets.Average(x => x.Timings.DecodeMs),
                    sets.Average(x => x.Timings.LetterboxMs),
                sets.Average(x => x.Timings.InferenceMs), sets.Average(x => x.Timings.PostprocessMs), publishTimes.Mean,
                _worker.Stats.TotalDropped - droppedBefore, snapshots, gc.Gen0, gc.Gen2, gc.PauseMs, gc.KbPerFrame);
        }

        public async ValueTask DisposeAsync()
        {
            await _cameras.DisposeAsync();
            await _worker.StopAsync(CancellationToken.None);
            await _detections.DisposeAsync();
            await _observer.DisposeAsync();
            await _component.DisposeAsync();
            await _broker.DisposeAsync();
        }
    }

    private static void PrintWorker(string name, WorkerResult r, double bareFps)
    {
        var prePost = r.LetterboxMs + r.PostprocessMs;
        Console.WriteLine($"{name}: {r.Fps:F2} frames/s = {r.Fps / bareFps:P0} of bare in the median round " +
            $"({r.Frames} frames, {r.Dropped} superseded by newer ones)");
        Console.WriteLine("| stage | mean ms |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| queue (receipt → start) | {r.QueueMs:F1} |");
        Console.WriteLine($"| decode | {r.DecodeMs:F1} |");
        Console.WriteLine($"| letterbox | {r.LetterboxMs:F1} |");
        Console.WriteLine($"| inference | {r.InferenceMs:F1} |");
        Console.WriteLine($"| decode+NMS | {r.PostprocessMs:F2} |");
        Console.WriteLine($"| publish | {r.PublishMs:F2} |");
        Console.WriteLine($"letterbox+postprocess = {prePost / r.InferenceMs:P1} of inference; with JPEG decode " +
            $"{(prePost + r.DecodeMs) / r.InferenceMs:P1}");
        Console.WriteLine($"GC while measured: {r.Gen0Collections} collections ({r.Gen2Collections} gen2), pauses " +
            $"{r.GcPauseMsPerSecond:F1} ms/s, {r.AllocatedKbPerFrame:F0} KB allocated per processed frame (an " +
            $"embedded broker allocates in this process too)");
    }

    /// <summary>Mean of the detector's stage-duration histogram for one stage, from the EdgeEvents meter.</summary>
    private sealed class StageListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private double _sum;
        private double _min = double.MaxValue;
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
                        lock (_listener) { _sum += value; _min = Math.Min(_min, value); _count++; }
                    }
                }
            });
            _listener.Start();
        }

        public double Mean
        {
            get { lock (_listener) return _count == 0 ? double.NaN : _sum / _count; }
        }

        public double Min
        {
            get { lock (_listener) return _count == 0 ? double.NaN : _min; }
        }

        public void Dispose() => _listener.Dispose();
    }
}
