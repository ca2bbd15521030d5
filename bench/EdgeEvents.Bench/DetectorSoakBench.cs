using System.Diagnostics;
using System.Globalization;
using EdgeEvents.Bench.Load;
using EdgeEvents.Testing;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Memory of a real <c>edge-events detector</c> process over a long overload run: simulated cameras (the load
/// benchmark's fleet: sample photos at 1080p and 640p) offer several times what the detector can process, and its
/// resident set is sampled at a fixed interval. After a warm-up, every sample must stay within the tolerance of the
/// samples' median (issue 3: flat within 10 % over five minutes); the exit code says whether it did.
/// Usage: detector-soak [--minutes 5] [--cameras 8] [--fps 5] [--sample-seconds 10] [--warmup-seconds 60] [--tolerance 0.10]
/// </summary>
public static class DetectorSoakBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        double Number(string name, double fallback) => Option(args, name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var duration = TimeSpan.FromMinutes(Number("--minutes", 5));
        var cameras = (int)Number("--cameras", 8);
        var fps = Number("--fps", 5);
        var interval = TimeSpan.FromSeconds(Number("--sample-seconds", 10));
        var warmup = TimeSpan.FromSeconds(Number("--warmup-seconds", 60));
        var tolerance = Number("--tolerance", 0.10);

        await using var pipeline = await LoadPipeline.StartBrokerAsync(LoadPipeline.Embedded);
        pipeline.AddDetector(TestData.Model("yolov8n_int8_dynamic.onnx"));
        var detector = pipeline.Meters.Single(m => m.Name.StartsWith("detector", StringComparison.Ordinal));
        await using var cameraTransport = await TestTransports.ConnectAsync(pipeline.Url, component: "cameras");
        var fleet = new CameraFleet(cameraTransport, CameraFleet.LoadImages(TestData.SamplesFolder));

        Console.WriteLine($"detector soak: {cameras} cameras x {fps} fps for {duration.TotalMinutes:0.#} min, resident set every {interval.TotalSeconds:0} s, warm-up {warmup.TotalSeconds:0} s");
        using var stop = new CancellationTokenSource(warmup + duration);
        var offered = fleet.RunAsync(cameras, fps, stop.Token);
        var clock = Stopwatch.StartNew();
        var samples = new List<double>();
        var cpuAtStart = ProcessMeter.CpuSeconds(detector.Pid);
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(interval, CancellationToken.None);
            pipeline.ThrowIfAnyExited();
            var rssMb = ProcessMeter.StatusKb(detector.Pid, "VmRSS") / 1024;
            var measured = clock.Elapsed >= warmup;
            if (measured) samples.Add(rssMb);
            Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:0} s  rss {rssMb,6:0} MB{(measured ? "" : "  (warm-up)")}");
        }
        await offered;
        var cpuPercent = 100 * (ProcessMeter.CpuSeconds(detector.Pid) - cpuAtStart) / clock.Elapsed.TotalSeconds;
        var peakMb = ProcessMeter.StatusKb(detector.Pid, "VmHWM") / 1024;

        var median = samples.Order().ElementAt(samples.Count / 2);
        var (low, high) = (samples.Min(), samples.Max());
        var flat = high <= median * (1 + tolerance) && low >= median * (1 - tolerance);
        Console.WriteLine($"frames offered {fleet.Published} ({cameras * fps:0} fps); detector CPU {cpuPercent:0} % of one core; peak resident set {peakMb:0} MB");
        Console.WriteLine($"resident set after warm-up: median {median:0} MB, min {low:0} MB ({(low / median - 1) * 100:+0.0;-0.0} %), max {high:0} MB ({(high / median - 1) * 100:+0.0;-0.0} %), {samples.Count} samples");
        Console.WriteLine($"{(flat ? "PASS" : "FAIL")}: every sample within {tolerance:P0} of the median");
        return flat ? 0 : 1;
    }
}
