using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Imaging;

namespace EdgeEvents.Detector.Rollout;

/// <summary>The gate's verdict, with the reason published in the status.</summary>
/// <param name="Slowdown">
/// The median of the candidate's time per frame divided by the current model's, once measured.
/// </param>
public sealed record GateResult(bool Passed, string Reason, AgreementReport? Report = null, double? Slowdown = null);

/// <summary>
/// Runs a candidate and the current model on recent frames with <c>eval</c>'s <see cref="ModelEvaluator"/>: the
/// candidate passes when its agreement reaches the threshold and its time per frame is at most the allowed slowdown
/// (the request's, else <see cref="RolloutOptions.MaxSlowdown"/>) times the current model's. Both models are loaded
/// with the same settings and warmed up on a real frame first (untimed: a fresh session's first runs take several
/// times longer); then they take turns on each frame, and the median of the per-frame ratios is compared, so load from
/// the running pipeline or other processes on the machine weighs on both alike.
/// </summary>
public static class ModelGate
{
    public static GateResult Run(ImageDetector candidate, ImageDetector current, IReadOnlyList<Frame> frames,
        double minAgreement, double maxSlowdown, RolloutOptions options)
    {
        if (frames.Count == 0)
            return new GateResult(false, "no frame was processed within the gate timeout to compare the models on");
        var evaluator = new ModelEvaluator(candidate, current);
        try
        {
            for (var i = 0; i < options.GateWarmupRuns; i++)
            {
                candidate.Detect(frames[i % frames.Count]);
                current.Detect(frames[i % frames.Count]);
            }
            foreach (var frame in frames) evaluator.Add(frame);
        }
        catch (Exception ex) when (ex is InvalidDataException or FrameDecodeException
                                       or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return new GateResult(false, $"the candidate failed on a recent frame: {ex.Message}");
        }
        var report = evaluator.Report();
        var slowdown = Median(evaluator.Slowdowns);
        var figures = $"agreement {report.Agreement:F3} with {report.Reference} on {report.Images} recent frames, " +
                      $"{report.CandidateMsPerImage:F1} ms per frame against {report.ReferenceMsPerImage:F1} ms " +
                      $"(median ratio {slowdown:F2})";
        if (report.Agreement < minAgreement)
            return new GateResult(false, $"{figures}: agreement below {minAgreement:F3}", report, slowdown);
        if (slowdown > maxSlowdown)
            return new GateResult(false, $"{figures}: slower than {maxSlowdown:F1}× the current model", report,
                slowdown);
        return new GateResult(true, figures, report, slowdown);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
