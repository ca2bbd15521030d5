using System.ComponentModel.DataAnnotations;

namespace EdgeEvents.Detector.Inference.Providers;

/// <summary>How cuDNN picks a convolution algorithm (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum ConvAlgorithmSearch
{
    /// <summary>
    /// Benchmark every algorithm once per shape: slowest first run, fastest after. ONNX Runtime's default.
    /// </summary>
    Exhaustive,
    /// <summary>cuDNN's heuristics: quick first run, sometimes slower kernels.</summary>
    Heuristic,
    /// <summary>cuDNN's default algorithm without search: quickest start, usually the slowest kernels.</summary>
    Default,
}

/// <summary>
/// CUDA execution provider settings, section <c>Detector:Cuda</c>, passed to ONNX Runtime's CUDA provider options.
/// </summary>
public sealed record CudaOptions
{
    /// <summary>cuDNN convolution algorithm search. Default <see cref="ConvAlgorithmSearch.Exhaustive"/>.</summary>
    public ConvAlgorithmSearch ConvAlgorithmSearch { get; init; } = ConvAlgorithmSearch.Exhaustive;

    /// <summary>
    /// Most GPU memory, in bytes, ONNX Runtime's CUDA memory arena may hold (<c>gpu_mem_limit</c>); 0 leaves it
    /// unlimited. Set it when the GPU is shared (an LLM beside the detector). Default 0.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ArenaLimitBytes { get; init; }
}
