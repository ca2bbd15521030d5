using System.Globalization;
using System.Text;
using ScottPlot;
using static EdgeEvents.Bench.Load.LatencySamples;

namespace EdgeEvents.Bench.Load;

/// <summary>What one step of the run measured: a transport, a camera count and a detector count.</summary>
public sealed record StepResult(
    string Transport, int Cameras, int Detectors, double OfferedFps, double PublishedFps, double ProcessedFps,
    WindowSamples Latency, IReadOnlyDictionary<string, long> Drops, IReadOnlyList<ComponentUsage> Usage)
{
    /// <summary>
    /// Drop reasons in table order: the detector's (see DropReasons), its intake queue, frames published that it never
    /// received, and frames the cameras could not publish (link broken).
    /// </summary>
    public static readonly string[] DropReasons = ["superseded", "stale", "too_many_cameras", "intake", "not_received",
        "publish_failed"];

    public double DetectionP95 => Percentile(Latency.Detection, 95);

    /// <summary>CPU % summed over the processes whose name starts with <paramref name="prefix"/> (several
    /// detectors).</summary>
    public double Cpu(string prefix) => Usage.Where(u => u.Name.StartsWith(prefix, StringComparison.Ordinal))
        .Sum(u => u.CpuPercent);

    /// <summary>The largest peak resident set (MB) of the processes whose name starts with <paramref
    /// name="prefix"/>.</summary>
    public double PeakRss(string prefix) => Usage.Where(u => u.Name.StartsWith(prefix, StringComparison.Ordinal))
        .Select(u => u.PeakRssMb).DefaultIfEmpty(double.NaN).Max();
}

/// <summary>A PASS/FAIL check of the scaling curve.</summary>
public sealed record LoadCheck(string Name, string Transport, bool Pass, string Detail)
{
    public override string ToString() => $"{(Pass ? "PASS" : "FAIL")} {Name} [{Transport}]: {Detail}";
}

/// <summary>The table, the CSV, the plot and the checks of a load run.</summary>
public static class LoadReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] Components = ["detector", "scene", "llm", "broker", "bench"];

    public static void PrintTable(IEnumerable<StepResult> steps)
    {
        Console.WriteLine("| transport | cameras | detectors | offered fps | processed fps | capture→detection " +
            "p50/p95/p99 ms | capture→scene event p50/p95/p99 ms (n) | answer p50/p95 ms (n, not ok) | dropped " +
            "superseded/stale/too many cameras/intake/not received/publish failed | CPU % " +
            "detector/scene/llm/broker/bench | peak RSS MB detector/scene/llm/broker |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in steps)
        {
            var l = s.Latency;
            Console.WriteLine($"| {s.Transport} | {s.Cameras} | {s.Detectors} | {s.OfferedFps:F0} | " +
                $"{s.ProcessedFps:F1} " +
                $"| {Ms(l.Detection, 50)} / {Ms(l.Detection, 95)} / {Ms(l.Detection, 99)} " +
                $"| {Ms(l.SceneEvent, 50)} / {Ms(l.SceneEvent, 95)} / {Ms(l.SceneEvent, 99)} ({l.SceneEvent.Length}) " +
                $"| {Ms(l.Answer, 50)} / {Ms(l.Answer, 95)} " +
                    $"({l.Answer.Length}{(l.AnswersNotOk > 0 ? $", {l.AnswersNotOk} not ok" : "")}) " +
                $"| {string.Join('/', StepResult.DropReasons.Select(r => s.Drops.GetValueOrDefault(r)))} " +
                $"| {string.Join('/', Components.Select(c => s.Cpu(c).ToString("F0", Invariant)))} " +
                $"| {string.Join('/', Components[..^1].Select(c => s.PeakRss(c).ToString("F0", Invariant)))} |");
        }
    }

    private static string Ms(double[] sorted, double p) =>
        sorted.Length == 0 ? "–" : Percentile(sorted, p).ToString("F0", Invariant);

    public static void WriteCsv(string path, IEnumerable<StepResult> steps)
    {
        var csv = new StringBuilder();
        string[] latency = ["detection", "scene_event", "answer"];
        csv.AppendLine(string.Join(',', new[] { "transport", "cameras", "detectors", "offered_fps", "published_fps",
            "processed_fps" }
            .Concat(latency.SelectMany(k => new[] { $"{k}_p50_ms", $"{k}_p95_ms", $"{k}_p99_ms", $"{k}_n" }))
            .Append("answer_not_ok")
            .Concat(StepResult.DropReasons.Select(r => $"dropped_{r}"))
            .Concat(Components.Select(c => $"cpu_percent_{c}"))
            .Concat(Components.Select(c => $"peak_rss_mb_{c}"))));
        foreach (var s in steps)
        {
            var values = new List<object> { s.Transport, s.Cameras, s.Detectors, Round(s.OfferedFps),
                Round(s.PublishedFps), Round(s.ProcessedFps) };
            foreach (var samples in new[] { s.Latency.Detection, s.Latency.SceneEvent, s.Latency.Answer })
                values.AddRange([Round(Percentile(samples, 50)), Round(Percentile(samples, 95)),
                    Round(Percentile(samples, 99)), samples.Length]);
            values.Add(s.Latency.AnswersNotOk);
            values.AddRange(StepResult.DropReasons.Select(r => (object)s.Drops.GetValueOrDefault(r)));
            values.AddRange(Components.Select(c => (object)Round(s.Cpu(c))));
            values.AddRange(Components.Select(c => (object)Round(s.PeakRss(c))));
            csv.AppendLine(string.Join(',', values.Select(v => Convert.ToString(v, Invariant))));
        }
        File.WriteAllText(path, csv.ToString());
    }

    private static string Round(double value) => double.IsNaN(value) ? "" : value.ToString("0.##", Invariant);

    /// <summary>Processed frames/s and capture→detection p95 against cameras, one line per transport (one
    /// detector).</summary>
    public static void WritePlot(string path, IReadOnlyList<StepResult> steps, double fps)
    {
        UseInstalledFont();
        var multiplot = new Multiplot();
        var throughput = new Plot();
        multiplot.Reset(throughput);
        var latency = multiplot.AddPlot();
        double[] cameras = [.. steps.Select(s => (double)s.Cameras).Distinct().Order()];
        foreach (var curve in Curves(steps))
        {
            double[] x = [.. curve.Select(s => (double)s.Cameras)];
            throughput.Add.Scatter(x, curve.Select(s => s.ProcessedFps).ToArray()).LegendText = curve[0].Transport;
            latency.Add.Scatter(x, curve.Select(s => s.DetectionP95).ToArray()).LegendText = curve[0].Transport;
        }
        throughput.Title($"Processed frames/s ({fps:0.#} fps per camera, 1 detector)");
        throughput.YLabel("frames/s");
        latency.Title("Capture→detection latency p95");
        latency.YLabel("ms");
        foreach (var plot in new[] { throughput, latency })
        {
            plot.XLabel("cameras");
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(cameras,
                [.. cameras.Select(c => c.ToString(Invariant))]);
            plot.Axes.AutoScale();
            plot.Axes.SetLimitsY(0, plot.Axes.GetLimits().Top);
            plot.Font.Set(FontName);
            plot.ShowLegend(Alignment.UpperLeft);
        }
        multiplot.SavePng(path, 900, 1000);
    }

    /// <summary>
    /// SkiaSharp's self-contained native library cannot ask fontconfig for fonts, so without this the plot has no text:
    /// register an installed sans font (Debian's fonts-dejavu-core or fonts-liberation) by its file.
    /// </summary>
    private const string FontName = "PlotSans";

    private static void UseInstalledFont()
    {
        string[] candidates = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"];
        if (candidates.FirstOrDefault(File.Exists) is not { } file)
        {
            Console.Error.WriteLine($"No font found ({string.Join(", ", candidates)}): the plot will have no text.");
            return;
        }
        Fonts.AddFontFile(FontName, file);
    }

    /// <summary>The single-detector steps of each transport, by camera count.</summary>
    public static IEnumerable<List<StepResult>> Curves(IEnumerable<StepResult> steps) =>
        steps.Where(s => s.Detectors == 1).GroupBy(s => s.Transport).Select(g => g.OrderBy(s => s.Cameras).ToList());

    /// <summary>
    /// The three checks of one transport's curve:
    /// (a) throughput rises until the detector saturates: the saturation point is the first camera count whose
    ///     processed fps reaches 90 % of the best step's (so it is at least 90 % of the maximum by definition, and a
    ///     step starved by other load cannot be mistaken for it); before it each step keeps at least 90 % of the
    /// previous step's fps (non-decreasing within noise). What happens after it is reported, not checked: on a small
    /// machine the broker and the cameras take CPU from the detector as the offered load grows;
    /// (b) past saturation latency stays bounded: capture→detection p95 at the most cameras is at most the detector's
    ///     maximum frame age (older frames are dropped as stale) plus <paramref name="latencySlack"/> for transit and
    ///     one inference;
    /// (c) past saturation memory stays flat: the detector's peak resident set at the most cameras is within 15 % of
    ///     that at the saturation point (before it, more frames in flight legitimately take more memory).
    /// </summary>
    public static IEnumerable<LoadCheck> Check(List<StepResult> curve, TimeSpan maxFrameAge, TimeSpan latencySlack)
    {
        var transport = curve[0].Transport;
        var best = curve.Max(s => s.ProcessedFps);
        var saturation = curve.FindIndex(s => s.ProcessedFps >= 0.9 * best);
        var rising = Enumerable.Range(1, saturation).All(i => curve[i].ProcessedFps >= 0.9 * curve[i - 1].ProcessedFps);
        var lowestAfter = curve.Skip(saturation).Min(s => s.ProcessedFps);
        var atSaturation = curve[saturation];
        var saturated = curve[^1].ProcessedFps < 0.9 * curve[^1].OfferedFps;
        yield return new LoadCheck("(a) throughput rises to saturation", transport, rising,
            $"fps {string.Join(" → ", curve.Select(s => s.ProcessedFps.ToString("F1", Invariant)))} for cameras " +
                $"{string.Join(",", curve.Select(s => s.Cameras))}; " +
            $"saturation at {atSaturation.Cameras} camera(s) ({atSaturation.ProcessedFps:F1} fps, best {best:F1}); " +
            (rising ? "non-decreasing (within 10 %) before it" : "fell by more than 10 % before it") + "; " +
            $"lowest after it {lowestAfter:F1} fps ({lowestAfter / best:P0} of the best)" +
            (saturated ? "" : $" (the detector kept up with all {curve[^1].OfferedFps:F0} fps offered: not " +
                $"saturated)"));

        var last = curve[^1];
        var bound = (maxFrameAge + latencySlack).TotalMilliseconds;
        yield return new LoadCheck("(b) latency bounded past saturation", transport, last.DetectionP95 <= bound,
            $"capture→detection p95 {last.DetectionP95:F0} ms at {last.Cameras} cameras ≤ bound {bound:F0} ms (max " +
                $"frame age {maxFrameAge.TotalMilliseconds:F0} + {latencySlack.TotalMilliseconds:F0} ms); " +
            $"{last.DetectionP95 / atSaturation.DetectionP95:F1}× the p95 at saturation " +
                $"({atSaturation.DetectionP95:F0} ms)");

        var saturationRss = atSaturation.PeakRss("detector");
        var lastRss = last.PeakRss("detector");
        yield return new LoadCheck("(c) detector memory flat past saturation", transport,
            lastRss <= 1.15 * saturationRss,
            $"peak RSS {saturationRss:F0} MB at saturation ({atSaturation.Cameras} camera(s)), {lastRss:F0} MB after " +
                $"{last.Cameras} (+{lastRss / saturationRss - 1:P0}; limit +15 %); " +
            $"{curve[0].PeakRss("detector"):F0} MB after the first step");
    }
}
