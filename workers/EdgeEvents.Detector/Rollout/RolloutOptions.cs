using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Detector.Rollout;

/// <summary>
/// How a detector checks a model rolled out over the air. Bound from configuration section <c>Detector:Rollout</c>.
/// </summary>
public sealed record RolloutOptions
{
    /// <summary>
    /// Recent processed frames kept to run the gate on (both models on each, timed in turns). Enough for the median of
    /// the per-frame time ratios to stand against load swings on a shared CPU. Default 16.
    /// </summary>
    [Range(1, 1000)]
    public int GateFrames { get; init; } = 16;

    /// <summary>Untimed runs of each model on a recent frame before the gate times them. Default 2.</summary>
    [Range(0, 100)]
    public int GateWarmupRuns { get; init; } = 2;

    /// <summary>
    /// How long the gate waits for <see cref="GateFrames"/> frames when fewer were processed yet; then it runs on those
    /// it has, and fails when there are none. Default 1 min.
    /// </summary>
    public TimeSpan GateTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Agreement with the current model a candidate needs when its control message gives no <c>minAgreement</c>.
    /// Default 0.9.
    /// </summary>
    [Range(0.0, 1.0)]
    public double MinAgreement { get; init; } = 0.9;

    /// <summary>
    /// Most the candidate's time per frame may be, as a multiple of the current model's on the same frames (the median
    /// of the per-frame ratios). Default 1.5.
    /// </summary>
    [Range(1.0, 100.0)]
    public double MaxSlowdown { get; init; } = 1.5;

    /// <summary>
    /// How long a switched-to model is watched before it counts as good (and survives a restart). Default 10 min.
    /// </summary>
    public TimeSpan Probation { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Share of frames the new model may fail on (run errors, <c>model_output</c> errors) during probation. Default
    /// 0.05.
    /// </summary>
    [Range(0.0, 1.0)]
    public double ProbationMaxErrorRate { get; init; } = 0.05;

    /// <summary>
    /// Failed frames needed before the error rate can fail probation, so one early error does not. Default 3.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ProbationMinErrors { get; init; } = 3;

    /// <summary>
    /// Share of the previous model's speed the new model must keep over probation: frames per second of model run time
    /// (the runs alone, so the cameras' rate does not matter), the new model's over the window against the previous
    /// model's before the switch. Judged at the end of the window once the new model ran at least
    /// <see cref="GateFrames"/> frames. 0 turns the check off. Default 0.5.
    /// </summary>
    [Range(0.0, 1.0)]
    public double ProbationMinSpeed { get; init; } = 0.5;

    /// <summary>Longest download (or copy) of a model. Default 10 min.</summary>
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromMinutes(10);
}
