using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Detector.Inference.Providers;

/// <summary>
/// TensorRT execution provider settings, section <c>Detector:TensorRt</c>, passed to ONNX Runtime's TensorRT provider
/// options (<c>trt_*</c> keys). Used only when <c>Detector:Providers</c> lists TensorRT and its libraries load.
/// </summary>
public sealed record TensorRtOptions : IValidatableObject
{
    /// <summary>
    /// Keep built engines on disk and load them at the next start instead of rebuilding (minutes per model on a
    /// Jetson). Default true.
    /// </summary>
    public bool EngineCache { get; init; } = true;

    /// <summary>
    /// Folder of the engine cache (and of the timing cache). Put it on a persistent volume so a restarted pod loads its
    /// engine in seconds; the manifests use <c>/data/trt-cache</c>. Default <c>trt-cache</c> (relative to the working
    /// folder).
    /// </summary>
    public string EngineCachePath { get; init; } = "trt-cache";

    /// <summary>
    /// Keep TensorRT's layer timing measurements, so building an engine for another input shape or model version reuses
    /// them. Stored in <see cref="EngineCachePath"/>. Default true.
    /// </summary>
    public bool TimingCache { get; init; } = true;

    /// <summary>
    /// Let TensorRT pick FP16 kernels: about twice the speed on GPUs with tensor cores; check with <c>eval</c>. Default
    /// false.
    /// </summary>
    public bool Fp16 { get; init; }

    /// <summary>
    /// Let TensorRT pick INT8 kernels: fastest, needs a calibration table (<see cref="Int8CalibrationTable"/>) unless
    /// the model is already quantised (Q/DQ nodes); check with <c>eval</c>. Default false.
    /// </summary>
    public bool Int8 { get; init; }

    /// <summary>
    /// INT8 calibration table file (TensorRT's or ONNX Runtime's format); only with <see cref="Int8"/>. Default none.
    /// </summary>
    public string? Int8CalibrationTable { get; init; }

    /// <summary>
    /// TensorRT builder optimisation level 0–5: higher builds longer (once, with the engine cache) for possibly
    /// faster engines. Default 3 (TensorRT's own default).
    /// </summary>
    [Range(0, 5)]
    public int BuilderOptimizationLevel { get; init; } = 3;

    /// <summary>
    /// Most GPU memory, in bytes, TensorRT may use as scratch while building and running; 0 leaves TensorRT's default
    /// (the device's memory). Lower it when other processes share the GPU. Default 0.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxWorkspaceBytes { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Int8CalibrationTable is not null && !Int8)
        {
            yield return new ValidationResult(
                "Detector:TensorRt:Int8CalibrationTable is set but Int8 is false; set Int8 to true or remove the " +
                "table.",
                [nameof(Int8CalibrationTable)]);
        }
        if ((EngineCache || TimingCache) && string.IsNullOrWhiteSpace(EngineCachePath))
        {
            yield return new ValidationResult(
                "Detector:TensorRt:EngineCachePath is empty while the engine or timing cache is on; give a folder or " +
                "turn both caches off.",
                [nameof(EngineCachePath)]);
        }
        if (Int8CalibrationTable is not null && Int8 && !File.Exists(Int8CalibrationTable))
        {
            yield return new ValidationResult(
                $"Detector:TensorRt:Int8CalibrationTable {Path.GetFullPath(Int8CalibrationTable)} does not exist.",
                [nameof(Int8CalibrationTable)]);
        }
    }
}
