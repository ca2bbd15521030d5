using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Detector.Rollout;

/// <summary>How a detector checks a model rolled out over the air. Bound from configuration section <c>Detector:Rollout</c>.</summary>
public sealed record RolloutOptions
{
    /// <summary>Recent processed frames kept to run the gate on (both models on each). Default 8.</summary>
    [Range(1, 1000)]
    public int GateFrames { get; init; } = 8;

    /// <summary>
    /// How long the gate waits for <see cref="GateFrames"/> frames when fewer were processed yet; then it runs on those
    /// it has, and fails when there are none. Default 1 min.
    /// </summary>
    public TimeSpan GateTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Agreement with the current model a candidate needs when its control message gives no <c>minAgreement</c>. Default 0.9.</summary>
    [Range(0.0, 1.0)]
    public double MinAgreement { get; init; } = 0.9;

    /// <summary>Most the candidate's time per frame may be, as a multiple of the current model's on the same frames. Default 1.5.</summary>
    [Range(1.0, 100.0)]
    public double MaxSlowdown { get; init; } = 1.5;

    /// <summary>How long a switched-to model is watched before it counts as good (and survives a restart). Default 10 min.</summary>
    public TimeSpan Probation { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Share of frames the new model may fail on (run errors, <c>model_output</c> errors) during probation. Default 0.05.</summary>
    [Range(0.0, 1.0)]
    public double ProbationMaxErrorRate { get; init; } = 0.05;

    /// <summary>Failed frames needed before the error rate can fail probation, so one early error does not. Default 3.</summary>
    [Range(1, 1_000_000)]
    public int ProbationMinErrors { get; init; } = 3;

    /// <summary>Longest download (or copy) of a model. Default 10 min.</summary>
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromMinutes(10);
}
