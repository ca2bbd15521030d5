using System.CommandLine;
using System.Diagnostics;
using EdgeEvents.Bench.Load;
using EdgeEvents.Testing;

namespace EdgeEvents.Bench;

/// <summary>
/// Memory of a real <c>edge-events detector</c> process over a long overload run: simulated cameras (the load
/// benchmark's fleet: sample photos at 1080p and 640p) offer several times what the detector can process, and its
/// resident set is sampled at a fixed interval. After a warm-up, every sample must stay within the tolerance of the
/// samples' median (issue 3: flat within 10 % over five minutes); the exit code says whether it did.
/// </summary>
public static class DetectorSoakBench
{
    public static Command Command()
    {
        var minutes = BenchOptions.WithDefault("--minutes", "Measured minutes after the warm-up", 5.0);
        var cameras = BenchOptions.WithDefault("--cameras", "Simulated cameras", 8);
        var fps = BenchOptions.WithDefault("--fps", "Frames per second per camera", 5.0);
        var sample = BenchOptions.WithDefault("--sample-seconds", "Seconds between resident-set samples", 10.0);
        var warmup = BenchOptions.WithDefault("--warmup-seconds", "Seconds before samples count", 60.0);
        var tolerance = BenchOptions.WithDefault("--tolerance",
            "Allowed deviation of a sample from the median, as a fraction", 0.10);
        var command = new Command("detector-soak", "Resident set of a detector process over a long overload run.")
        {
            minutes, cameras, fps, sample, warmup, tolerance,
        };
        command.SetAction(parse => RunAsync(
            TimeSpan.FromMinutes(parse.GetValue(minutes)), parse.GetValue(cameras), parse.GetValue(fps),
            TimeSpan.FromSeconds(parse.GetValue(sample)), TimeSpan.FromSeconds(parse.GetValue(warmup)),
            parse.GetValue(tolerance)));
        return command;
    }

    public static async Task<int> RunAsync(
        TimeSpan duration, int cameras, double fps, TimeSpan interval, TimeSpan warmup, double tolerance)
    {
        await using var pipeline = await LoadPipeline.StartBrokerAsync(LoadPipeline.Embedded);
        pipeline.AddDetector(TestData.Model("yolov8n_int8_dynamic.onnx"));
        var detector = pipeline.Meters.Single(m => m.Name.StartsWith("detector", StringComparison.Ordinal));
        await using var cameraTransport = await TestTransports.ConnectAsync(pipeline.Url, component: "cameras");
        var fleet = new CameraFleet(cameraTransport, CameraFleet.LoadImages(TestData.SamplesFolder));

        Console.WriteLine($"detector soak: {cameras} cameras x {fps} fps for {duration.TotalMinutes:0.#} min, " +
            $"resident set every {interval.TotalSeconds:0} s, warm-up {warmup.TotalSeconds:0} s");
        using var stop = new CancellationTokenSource(warmup + duration);
        var offered = fleet.RunAsync(cameras, fps, stop.Token);
        var clock = Stopwatch.StartNew();
        var samples = new List<double>();
        var cpuAtStart = ProcFs.CpuSeconds(detector.Pid);
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(interval, CancellationToken.None);
            pipeline.ThrowIfAnyExited();
            var rssMb = ProcFs.StatusKb(detector.Pid, "VmRSS") / 1024;
            var measured = clock.Elapsed >= warmup;
            if (measured) samples.Add(rssMb);
            Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:0} s  rss {rssMb,6:0} " +
                $"MB{(measured ? "" : "  (warm-up)")}");
        }
        await offered;
        var cpuPercent = 100 * (ProcFs.CpuSeconds(detector.Pid) - cpuAtStart) / clock.Elapsed.TotalSeconds;
        var peakMb = ProcFs.StatusKb(detector.Pid, "VmHWM") / 1024;

        var median = samples.Order().ElementAt(samples.Count / 2);
        var (low, high) = (samples.Min(), samples.Max());
        var flat = high <= median * (1 + tolerance) && low >= median * (1 - tolerance);
        Console.WriteLine($"frames offered {fleet.Published} ({cameras * fps:0} fps); detector CPU {cpuPercent:0} % " +
            $"of one core; peak resident set {peakMb:0} MB");
        Console.WriteLine($"resident set after warm-up: median {median:0} MB, min {low:0} MB " +
            $"({(low / median - 1) * 100:+0.0;-0.0} %), max {high:0} MB ({(high / median - 1) * 100:+0.0;-0.0} %), " +
            $"{samples.Count} samples");
        Console.WriteLine($"{(flat ? "PASS" : "FAIL")}: every sample within {tolerance:P0} of the median");
        return flat ? 0 : 1;
    }
}
