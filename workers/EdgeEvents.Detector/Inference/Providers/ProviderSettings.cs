using System.Globalization;

namespace EdgeEvents.Detector.Inference.Providers;

/// <summary>The option sections turned into ONNX Runtime's provider option keys and values.</summary>
internal static class ProviderSettings
{
    public static Dictionary<string, string> TensorRt(TensorRtOptions options, int deviceId)
    {
        var settings = new Dictionary<string, string>
        {
            ["device_id"] = Invariant(deviceId),
            ["trt_engine_cache_enable"] = Flag(options.EngineCache),
            ["trt_timing_cache_enable"] = Flag(options.TimingCache),
            ["trt_fp16_enable"] = Flag(options.Fp16),
            ["trt_int8_enable"] = Flag(options.Int8),
            ["trt_builder_optimization_level"] = Invariant(options.BuilderOptimizationLevel),
        };
        if (options.EngineCache || options.TimingCache)
        {
            var folder = Path.GetFullPath(options.EngineCachePath);
            if (options.EngineCache) settings["trt_engine_cache_path"] = folder;
            if (options.TimingCache) settings["trt_timing_cache_path"] = folder;
        }
        if (options.Int8 && options.Int8CalibrationTable is { } table)
            settings["trt_int8_calibration_table_name"] = Path.GetFullPath(table);
        if (options.MaxWorkspaceBytes > 0) settings["trt_max_workspace_size"] = Invariant(options.MaxWorkspaceBytes);
        return settings;
    }

    public static Dictionary<string, string> Cuda(CudaOptions options, int deviceId)
    {
        var settings = new Dictionary<string, string>
        {
            ["device_id"] = Invariant(deviceId),
            ["cudnn_conv_algo_search"] = options.ConvAlgorithmSearch.ToString().ToUpperInvariant(),
        };
        if (options.ArenaLimitBytes > 0) settings["gpu_mem_limit"] = Invariant(options.ArenaLimitBytes);
        return settings;
    }

    private static string Flag(bool value) => value ? "1" : "0";
    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
