using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Pipeline.Observability;

/// <summary>Metric label limits. Bound from configuration section <c>Telemetry</c>.</summary>
public sealed record TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>
    /// Camera ids each component reports as the <c>camera</c> label of its metrics; later ones are reported as
    /// <c>other</c> (<see cref="CameraLabels"/>). Camera ids come from topics, which anyone allowed to publish frames
    /// can invent. Keep cameras × the other labels of a metric (e.g. 4 drop reasons) under the 256 series a metric
    /// keeps. Default 50.
    /// </summary>
    [Range(1, EdgeTelemetry.MaxSeriesPerMetric)]
    public int MaxCameraLabels { get; init; } = 50;
}
