using System.CommandLine;
using System.Diagnostics;
using EdgeEvents.Bench.Load;
using EdgeEvents.Camera;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeEvents.Bench;

/// <summary>
/// The whole pipeline under load, per transport: N simulated cameras × F fps of real JPEGs (1080p and 640p) from this
/// process through the broker to real <c>edge-events detector</c>, <c>scene</c> and <c>llm</c> processes, with a
/// dashboard subscriber measuring latencies and questions asked at a fixed rate. Steps through the camera counts
/// (the scaling curve), then adds a second detector in the same shared-subscription group at the most cameras.
/// Baselines in the same run: a bare ONNX Runtime session (DetectorBench's) and the raw broker client
/// (TransportBench's). Checks the curve (see <see cref="LoadReport.Check"/>) and exits 1 if a check fails. Defaults: 3
/// s settle + 10 s measured per step, a question every 3 s, results in bench/results. <c>--quick</c> (the CI smoke
/// run): cameras 1 and 4, 1.5 + 3 s per step, a question every second, no scale-out step, results in a temp folder.
/// </summary>
public static class LoadBench
{
    /// <summary>What one run measures; <see cref="Command"/> documents each value's default.</summary>
    public sealed record Settings(
        string[] Transports, int[] Cameras, double Fps, TimeSpan Measure, TimeSpan Settle, TimeSpan QuestionInterval,
        bool ScaleOut, TimeSpan BaselineDuration, int RawMessages, string OutFolder);

    private const int RawPayloadBytes = 100 * 1024;
    // Progress lines show the seconds since the run started.
    private static readonly Stopwatch RunClock = new();
    // Allowed on top of the detector's maximum frame age in check (b): broker transit, one inference, publish.
    private static readonly TimeSpan LatencySlack = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(Settings settings)
    {
        RunClock.Restart();
        var detectorModel = TestData.Model("yolov8n_int8_dynamic.onnx");
        var llmModel = TestData.Model("stories260K.gguf");
        var images = CameraFleet.LoadImages(TestData.SamplesFolder);
        Console.WriteLine($"load bench: {string.Join(",", settings.Transports)}; cameras " +
            $"{string.Join(",", settings.Cameras)} × {settings.Fps:0.#} fps; " +
            $"{settings.Settle.TotalSeconds:0.#} s settle + {settings.Measure.TotalSeconds:0.#} s measured per step; " +
                $"a question every {settings.QuestionInterval.TotalSeconds:0.#} s; " +
            $"{images.Count} images " +
                $"({string.Join(", ", images.Select(i => $"{i.Name} {i.Data.Length / 1024} KB"))}); " +
                $"{Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

        var steps = new List<StepResult>();
        var bareRates = new Dictionary<string, double>();
        var rawRates = new Dictionary<string, double>();
        foreach (var transport in settings.Transports)
        {
            // Measured again before each transport's curve, so on a shared machine each ratio compares like moments.
            bareRates[transport] = BareSessionFps(detectorModel, images.First(i => i.Name == "bus-640p"),
                settings.BaselineDuration);
            Console.WriteLine($"  [{RunClock.Elapsed.TotalSeconds:F0} s] baseline: bare InferenceSession.Run " +
                $"{bareRates[transport]:F2} frames/s (same model, default threads, letterboxed bus-640p)");
            await using var pipeline = await LoadPipeline.StartBrokerAsync(transport);
            rawRates[transport] = transport == LoadPipeline.Nats
                ? (await TransportBench.RawNatsAsync(pipeline.Url, RawPayloadBytes, settings.RawMessages, 64)).Rate
                : (await TransportBench.RawMqttAsync(pipeline.Url, RawPayloadBytes, settings.RawMessages, 64)).Rate;
            Console.WriteLine($"  [{RunClock.Elapsed.TotalSeconds:F0} s] baseline: raw {transport} client " +
                $"{rawRates[transport]:N0} msg/s of 100 KB (TransportBench's loop, window 64)");
            pipeline.AddDetector(detectorModel);
            pipeline.StartScene();
            pipeline.StartLlm(llmModel);
            await using var dashboard = await Dashboard.StartAsync(pipeline.Url);
            await using var cameraTransport = await TestTransports.ConnectAsync(pipeline.Url, component: "cameras");
            var fleet = new CameraFleet(cameraTransport, images);
            await WarmUpAsync(pipeline, dashboard, fleet, settings);
            foreach (var cameras in settings.Cameras)
                steps.Add(await StepAsync(pipeline, dashboard, fleet, cameras, settings));
            if (settings.ScaleOut)
            {
                pipeline.AddDetector(detectorModel);
                await WarmUpAsync(pipeline, dashboard, fleet, settings);
                steps.Add(await StepAsync(pipeline, dashboard, fleet, settings.Cameras.Max(), settings));
            }
        }

        Console.WriteLine();
        LoadReport.PrintTable(steps);
        Directory.CreateDirectory(settings.OutFolder);
        var csv = Path.Combine(settings.OutFolder, "load.csv");
        var png = Path.Combine(settings.OutFolder, "load.png");
        LoadReport.WriteCsv(csv, steps);
        LoadReport.WritePlot(png, steps, settings.Fps);
        Console.WriteLine($"\nwrote {csv} and {png}\n");

        PrintRatios(steps, bareRates, rawRates);
        var maxFrameAge = new DetectorOptions().MaxFrameAge;
        var checks = LoadReport.Curves(steps).SelectMany(curve => LoadReport.Check(curve, maxFrameAge,
            LatencySlack)).ToList();
        foreach (var check in checks) Console.WriteLine(check);
        return checks.All(c => c.Pass) ? 0 : 1;
    }

    public static Command Command()
    {
        var quick = BenchOptions.Quick("The CI smoke run: cameras 1 and 4, 1.5 + 3 s per step, a question " +
            "every second, "
            + "no scale-out step, results in a temp folder");
        var transports = BenchOptions.Names("--transports", "Transports to measure [default: embedded,mosquitto,nats]",
            LoadPipeline.Embedded, LoadPipeline.Mosquitto, LoadPipeline.Nats);
        var cameras = BenchOptions.List<int>("--cameras",
            "Camera counts of the curve [default: 1,2,4,8,16, --quick 1,4]");
        var fps = BenchOptions.WithDefault("--fps", "Frames per second per camera", 5.0);
        var seconds = new Option<double>("--seconds")
        {
            Description = "Measured seconds per step [default: 10, --quick 3]",
        };
        var settle = new Option<double>("--settle")
        {
            Description = "Settle seconds per step [default: 3, --quick 1.5]",
        };
        var questions = new Option<double>("--question-interval")
        {
            Description = "Seconds between questions [default: 3, --quick 1]",
        };
        var output = new Option<string>("--out")
        {
            Description = "Folder for load.csv and load.png [default: bench/results]",
        };
        var command = new Command("load", "The whole pipeline under load, per transport, against its baselines.")
        {
            quick, transports, cameras, fps, seconds, settle, questions, output,
        };
        command.SetAction(parse =>
        {
            var isQuick = parse.GetValue(quick);
            // The quick run writes beside the temp files, so a smoke test never overwrites the committed results.
            var outFolder = parse.GetValue(output) ?? (isQuick
                ? Path.Combine(Path.GetTempPath(), "edge-load-quick")
                : Path.Combine(TestData.RepositoryRoot, "bench", "results"));
            return RunAsync(new Settings(
                parse.GivenOr(transports, [LoadPipeline.Embedded, LoadPipeline.Mosquitto, LoadPipeline.Nats]),
                parse.GivenOr(cameras, isQuick ? [1, 4] : [1, 2, 4, 8, 16]).Order().ToArray(),
                parse.GetValue(fps),
                TimeSpan.FromSeconds(parse.GivenOr(seconds, isQuick ? 3 : 10)),
                TimeSpan.FromSeconds(parse.GivenOr(settle, isQuick ? 1.5 : 3)),
                TimeSpan.FromSeconds(parse.GivenOr(questions, isQuick ? 1 : 3)),
                ScaleOut: !isQuick,
                TimeSpan.FromSeconds(isQuick ? 2 : 5),
                isQuick ? 200 : 1000,
                Path.GetFullPath(outFolder)));
        });
        return command;
    }

    /// <summary>DetectorBench's bare session loop on one letterboxed image, before any process of the pipeline
    /// runs.</summary>
    private static double BareSessionFps(string modelPath, SourceImage image, TimeSpan duration)
    {
        var options = new DetectorOptions { ModelPath = modelPath, Providers = "CPU" };
        using var model = DetectorModel.Load(options, NullLogger.Instance);
        var input = new float[model.Input.TensorLength];
        new FramePreprocessor(model.Input, options.MaxImagePixels, options.Preprocess).Prepare(new Frame
        {
            Camera = "bare",
            Encoding = image.Encoding, Data = image.Data
        }, input, out _);
        using var bare = new DetectorBench.BareSessions(options, model, input);
        return bare.Measure(duration).Fps;
    }

    /// <summary>
    /// Until every detector has processed frames and the LLM worker has answered, with one camera running; then every
    /// image once, so the detectors' memory has seen the largest frames before the first step.
    /// </summary>
    private static async Task WarmUpAsync(LoadPipeline pipeline, Dashboard dashboard, CameraFleet fleet,
        Settings settings)
    {
        using var cameras = new CancellationTokenSource();
        var running = fleet.RunAsync(1, settings.Fps, cameras.Token);
        var deadline = Stopwatch.StartNew();
        while (dashboard.Stats("detector").Count(s => s.GetValueOrDefault("frames_processed") > 0) < pipeline.Detectors)
        {
            pipeline.ThrowIfAnyExited();
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"{pipeline.Transport}: " +
                $"{pipeline.Detectors} detector(s) did not all process frames within 2 minutes.");
            await Task.Delay(100);
        }
        await dashboard.WaitForAnswerAsync(TimeSpan.FromMinutes(2));
        await cameras.CancelAsync();
        await running;
        await fleet.TourAsync(pipeline.Detectors, CancellationToken.None);
        Console.WriteLine($"  [{RunClock.Elapsed.TotalSeconds:F0} s] {pipeline.Transport}: {pipeline.Detectors} " +
            $"detector(s), scene and llm processes up");
    }

    private static async Task<StepResult> StepAsync(LoadPipeline pipeline, Dashboard dashboard, CameraFleet fleet,
        int cameras, Settings settings)
    {
        using var stop = new CancellationTokenSource();
        var running = fleet.RunAsync(cameras, settings.Fps, stop.Token);
        await Task.Delay(settings.Settle);

        var meters = pipeline.Meters.Append(new ProcessMeter("bench", Environment.ProcessId)).ToList();
        var countersBefore = DetectorCounters(dashboard);
        var (publishedBefore, failedBefore) = (fleet.Published, fleet.Failed);
        foreach (var meter in meters) meter.Start();
        dashboard.StartWindow();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < settings.Measure)
        {
            await dashboard.AskAsync(CancellationToken.None);
            var next = Math.Min(settings.QuestionInterval.Ticks, (settings.Measure - clock.Elapsed).Ticks);
            if (next > 0) await Task.Delay(TimeSpan.FromTicks(next));
        }
        var latency = dashboard.StopWindow();
        var elapsed = clock.Elapsed.TotalSeconds;
        var usage = meters.Select(m => m.Stop()).ToList();
        var published = fleet.Published - publishedBefore;
        var failed = fleet.Failed - failedBefore;
        var countersAfter = DetectorCounters(dashboard);
        await stop.CancelAsync();
        await running;
        pipeline.ThrowIfAnyExited();

        var drops = StepResult.DropReasons.ToDictionary(r => r,
            r => (long)(countersAfter.GetValueOrDefault(r) - countersBefore.GetValueOrDefault(r)));
        drops["not_received"] = Math.Max(0, published - (long)(countersAfter.GetValueOrDefault("received")
            - countersBefore.GetValueOrDefault("received")));
        drops["publish_failed"] = failed;
        var step = new StepResult(pipeline.Transport, cameras, pipeline.Detectors, cameras * settings.Fps,
            published / elapsed,
            latency.Detection.Length / elapsed, latency, drops, usage);
        Console.WriteLine($"  [{RunClock.Elapsed.TotalSeconds:F0} s] {step.Transport}, {cameras} camera(s), " +
            $"{step.Detectors} detector(s): {step.ProcessedFps:F1} of {step.OfferedFps:F0} fps processed, " +
            $"capture→detection p95 {step.DetectionP95:F0} ms, detector CPU {step.Cpu("detector"):F0} %");
        return step;
    }

    /// <summary>
    /// The detectors' counters from their latest stats messages (read over the broker), summed over detectors:
    /// drops by reason (<c>frames_dropped.{camera}.{reason}</c>), intake drops (<c>messages_dropped</c>) and frames
    /// received (<c>frames_received</c>). Stats come every second, so a window's figures lag by up to a second.
    /// </summary>
    private static Dictionary<string, double> DetectorCounters(Dashboard dashboard)
    {
        var totals = new Dictionary<string, double>();
        foreach (var values in dashboard.Stats("detector"))
        {
            foreach (var (key, value) in values)
            {
                var name = key.StartsWith("frames_dropped.", StringComparison.Ordinal)
                    ? key[(key.LastIndexOf('.') + 1)..]
                    : key == "messages_dropped" ? "intake"
                    : key == "frames_received" ? "received"
                    : null;
                if (name is not null) totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }
        return totals;
    }

    private static void PrintRatios(List<StepResult> steps, Dictionary<string, double> bareRates, Dictionary<string,
        double> rawRates)
    {
        foreach (var curve in LoadReport.Curves(steps))
        {
            var transport = curve[0].Transport;
            var best = curve.MaxBy(s => s.ProcessedFps)!;
            var last = curve[^1];
            Console.WriteLine($"ratio [{transport}]: best pipeline throughput {best.ProcessedFps:F1} fps " +
                $"({best.Cameras} cameras) / bare session {bareRates[transport]:F1} fps = " +
                $"{best.ProcessedFps / bareRates[transport]:P0}");
            Console.WriteLine($"ratio [{transport}]: frames through the broker at {last.Cameras} cameras " +
                $"{last.PublishedFps:F0} msg/s / raw 100 KB {rawRates[transport]:N0} msg/s = " +
                $"{last.PublishedFps / rawRates[transport]:P1}");
            if (steps.FirstOrDefault(s => s.Transport == transport && s.Detectors == 2) is { } two)
                Console.WriteLine($"scale-out [{transport}]: {two.Cameras} cameras, 1 detector " +
                    $"{last.ProcessedFps:F1} fps (p95 {last.DetectionP95:F0} ms, CPU {last.Cpu("detector"):F0} %), " +
                    $"2 detectors {two.ProcessedFps:F1} fps (p95 {two.DetectionP95:F0} ms, CPU " +
                        $"{two.Cpu("detector"):F0} %) = ×{two.ProcessedFps / last.ProcessedFps:F2}");
        }
    }
}
