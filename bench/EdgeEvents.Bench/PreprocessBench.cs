using System.CommandLine;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Testing;
using SkiaSharp;
using static EdgeEvents.Bench.BenchSupport;

namespace EdgeEvents.Bench;

/// <summary>
/// Cost per frame of the detector's two preprocessing modes (<c>Detector:Preprocess</c>): Reference (full-scale decode,
/// OpenCV-equivalent linear resize) against Fast (reduced-DCT decode, antialiased bicubic), same frames, same run,
/// modes alternating per round; decode and letterbox milliseconds, mean and fastest, and Reference / Fast of the totals.
/// </summary>
public static class PreprocessBench
{
    public static Command Command()
    {
        var quick = BenchOptions.Quick("20 frames per mode and case instead of 200");
        var iterations = new Option<int>("--iterations") { Description = "Frames per mode and case [default: 200, 20 with --quick]" };
        var command = new Command("preprocess", "Cost per frame of the Reference and Fast preprocessing modes, " +
            "side by side.") { quick, iterations };
        command.SetAction(parse => RunAsync(parse.GivenOr(iterations, parse.GetValue(quick) ? 20 : 200)));
        return command;
    }

    public static Task<int> RunAsync(int iterations)
    {
        var bus = File.ReadAllBytes(TestData.Sample("bus.jpg"));
        using var busBitmap = SKBitmap.Decode(bus);
        var frames = new (string Name, byte[] Jpeg)[]
        {
            ("bus.jpg 810x1080", bus),
            ("zidane.jpg 1280x720", File.ReadAllBytes(TestData.Sample("zidane.jpg"))),
            ("1920x1080 JPEG (q90)", DetectorBench.Resized(busBitmap, 1920, 1080)),
        };
        var formats = new (string Name, InputFormat Format)[]
        {
            ("YOLOv8 640", new InputFormat(640, 640, Bgr: false, PixelDivisor: 255, Centered: true)),
            ("YOLOX 416", new InputFormat(416, 416, Bgr: true, PixelDivisor: 1, Centered: false)),
        };
        Console.WriteLine($"preprocess bench: {iterations} frames per mode and case, {Environment.ProcessorCount} cores, " +
            $"TurboJPEG {(TurboJpeg.Instance is null ? "missing" : "loaded")}, {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        Console.WriteLine("| frame | input | Fast decode / letterbox ms (mean; fastest) | Reference decode / letterbox ms (mean; fastest) | " +
            "Reference / Fast (mean; fastest) |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (frameName, jpeg) in frames)
            foreach (var (formatName, format) in formats)
            {
                var frame = new Frame { Camera = "bench", Encoding = FrameEncoding.Jpeg, Data = jpeg };
                var fast = Measure(new FramePreprocessor(format, 4096L * 4096, PreprocessMode.Fast), frame, iterations);
                var reference = Measure(new FramePreprocessor(format, 4096L * 4096, PreprocessMode.Reference), frame, iterations);
                Console.WriteLine($"| {frameName} | {formatName} | {fast.Decode:F2} / {fast.Letterbox:F2} ({fast.Fastest:F2}) | " +
                    $"{reference.Decode:F2} / {reference.Letterbox:F2} ({reference.Fastest:F2}) | " +
                    $"{(reference.Decode + reference.Letterbox) / (fast.Decode + fast.Letterbox):F2}× ({reference.Fastest / fast.Fastest:F2}×) |");
            }
        return Task.FromResult(0);
    }

    /// <summary>Mean decode and letterbox milliseconds, and the fastest whole frame, after a warm-up.</summary>
    private static (double Decode, double Letterbox, double Fastest) Measure(FramePreprocessor preprocessor, Frame frame, int iterations)
    {
        var tensor = new float[preprocessor.Format.TensorLength];
        for (var i = 0; i < 5; i++) preprocessor.Prepare(frame, tensor, out _);
        double decode = 0, letterbox = 0, fastest = double.MaxValue;
        for (var i = 0; i < iterations; i++)
        {
            preprocessor.Prepare(frame, tensor, out var t);
            decode += t.DecodeMs;
            letterbox += t.LetterboxMs;
            fastest = Math.Min(fastest, t.DecodeMs + t.LetterboxMs);
        }
        return (decode / iterations, letterbox / iterations, fastest);
    }
}
