using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Imaging;

namespace EdgeEvents.Detector.Rollout;

/// <summary>The gate's verdict, with the reason published in the status.</summary>
public sealed record GateResult(bool Passed, string Reason, AgreementReport? Report = null);

/// <summary>
/// Runs a candidate and the current model on recent frames with <c>eval</c>'s <see cref="ModelEvaluator"/>: the
/// candidate passes when its agreement reaches the threshold and its time per frame is at most
/// <c>maxSlowdown</c> times the current model's (both timed the same way, side by side).
/// </summary>
public static class ModelGate
{
    public static GateResult Run(ImageDetector candidate, ImageDetector current, IReadOnlyList<Frame> frames, double minAgreement, double maxSlowdown)
    {
        if (frames.Count == 0) return new GateResult(false, "no frame was processed within the gate timeout to compare the models on");
        var evaluator = new ModelEvaluator(candidate, current);
        try
        {
            foreach (var frame in frames) evaluator.Add(frame);
        }
        catch (Exception ex) when (ex is InvalidDataException or FrameDecodeException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return new GateResult(false, $"the candidate failed on a recent frame: {ex.Message}");
        }
        var report = evaluator.Report();
        var figures = $"agreement {report.Agreement:F3} with {report.Reference} on {report.Images} recent frames, " +
                      $"{report.CandidateMsPerImage:F1} ms per frame against {report.ReferenceMsPerImage:F1} ms";
        if (report.Agreement < minAgreement) return new GateResult(false, $"{figures}: agreement below {minAgreement:F3}", report);
        if (report.CandidateMsPerImage > maxSlowdown * report.ReferenceMsPerImage)
            return new GateResult(false, $"{figures}: slower than {maxSlowdown:F1}× the current model", report);
        return new GateResult(true, figures, report);
    }
}
