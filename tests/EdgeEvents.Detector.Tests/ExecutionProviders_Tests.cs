using EdgeEvents.Detector.Inference.Providers;
using EdgeEvents.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class ExecutionProviders_Tests
{
    private static readonly TensorRtOptions Tuned = new()
    {
        EngineCachePath = "/data/trt-cache",
        Fp16 = true,
        BuilderOptimizationLevel = 5,
        MaxWorkspaceBytes = 2L << 30,
    };

    [Fact]
    public void TensorRt_options_become_onnx_runtimes_trt_keys()
    {
        var settings = ProviderSettings.TensorRt(Tuned, deviceId: 1);

        Assert.Equal("1", settings["device_id"]);
        Assert.Equal("1", settings["trt_engine_cache_enable"]);
        Assert.Equal("/data/trt-cache", settings["trt_engine_cache_path"]);
        Assert.Equal("1", settings["trt_timing_cache_enable"]);
        Assert.Equal("/data/trt-cache", settings["trt_timing_cache_path"]);
        Assert.Equal("1", settings["trt_fp16_enable"]);
        Assert.Equal("0", settings["trt_int8_enable"]);
        Assert.Equal("5", settings["trt_builder_optimization_level"]);
        Assert.Equal("2147483648", settings["trt_max_workspace_size"]);
        Assert.DoesNotContain("trt_int8_calibration_table_name", settings.Keys);
    }

    [Fact]
    public void Cuda_options_become_onnx_runtimes_cuda_keys()
    {
        var settings = ProviderSettings.Cuda(new CudaOptions { ConvAlgorithmSearch = ConvAlgorithmSearch.Heuristic, ArenaLimitBytes = 1L << 30 }, deviceId: 0);

        Assert.Equal("HEURISTIC", settings["cudnn_conv_algo_search"]);
        Assert.Equal("1073741824", settings["gpu_mem_limit"]);
        Assert.Equal("0", settings["device_id"]);
    }

    /// <summary>
    /// ONNX Runtime fills its provider options objects inside the provider's own library: where CUDA is installed the
    /// values are read back from it; where not (this CPU-only machine), ONNX Runtime cannot hold them at all, and the
    /// probe that spares the detector its load errors names the missing library.
    /// </summary>
    [Fact]
    public void Provider_options_are_read_back_from_onnx_runtime_where_its_gpu_libraries_load()
    {
        _ = OrtEnv.Instance();
        using var trt = new OrtTensorRTProviderOptions();
        using var cuda = new OrtCUDAProviderOptions();
        var (trtMissing, cudaMissing) = (ProviderLibraries.FirstMissing("TensorRT"), ProviderLibraries.FirstMissing("CUDA"));
        if (trtMissing is null)
        {
            trt.UpdateOptions(ProviderSettings.TensorRt(Tuned, deviceId: 0));
            var readBack = trt.GetOptions();
            Assert.Contains("trt_engine_cache_path=/data/trt-cache", readBack);
            Assert.Contains("trt_fp16_enable=1", readBack);
            Assert.Contains("trt_builder_optimization_level=5", readBack);
            Assert.Contains("trt_max_workspace_size=2147483648", readBack);
        }
        else
        {
            Assert.Contains(trtMissing, ProviderLibraries.For("TensorRT"));
            var error = Assert.Throws<OnnxRuntimeException>(() => trt.UpdateOptions(ProviderSettings.TensorRt(Tuned, deviceId: 0)));
            Assert.Contains("Failed to load library", error.Message);
        }
        if (cudaMissing is null)
        {
            cuda.UpdateOptions(ProviderSettings.Cuda(new CudaOptions { ConvAlgorithmSearch = ConvAlgorithmSearch.Heuristic, ArenaLimitBytes = 1L << 30 }, deviceId: 0));
            var readBack = cuda.GetOptions();
            Assert.Contains("cudnn_conv_algo_search=HEURISTIC", readBack);
            Assert.Contains("gpu_mem_limit=1073741824", readBack);
        }
        else
        {
            Assert.Contains(cudaMissing, ProviderLibraries.For("CUDA"));
            var error = Assert.Throws<OnnxRuntimeException>(() => cuda.UpdateOptions(ProviderSettings.Cuda(new CudaOptions(), deviceId: 0)));
            Assert.Contains("Failed to load library", error.Message);
        }
    }

    [Theory]
    [InlineData("Detector:TensorRt:Int8CalibrationTable", "calibration.flatbuffers", "Int8 is false")]
    [InlineData("Detector:TensorRt:EngineCachePath", "", "EngineCachePath is empty")]
    [InlineData("Detector:TensorRt:BuilderOptimizationLevel", "7", "TensorRt:BuilderOptimizationLevel")]
    [InlineData("Detector:Cuda:ArenaLimitBytes", "-1", "Cuda:ArenaLimitBytes")]
    public void Invalid_provider_settings_fail_at_start_with_a_clear_message(string key, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => BindOptions(new() { [key] = value }));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void An_int8_calibration_table_that_does_not_exist_fails_at_start_with_its_path()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-table-{Guid.NewGuid():N}.cache");
        var error = Assert.Throws<OptionsValidationException>(() => BindOptions(new()
        {
            ["Detector:TensorRt:Int8"] = "true",
            ["Detector:TensorRt:Int8CalibrationTable"] = missing,
        }));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Provider_sections_bind_from_configuration()
    {
        var options = BindOptions(new()
        {
            ["Detector:TensorRt:EngineCachePath"] = "/data/trt-cache",
            ["Detector:TensorRt:Fp16"] = "true",
            ["Detector:Cuda:ConvAlgorithmSearch"] = "Heuristic",
        });
        Assert.Equal(Tuned with { BuilderOptimizationLevel = 3, MaxWorkspaceBytes = 0 }, options.TensorRt);
        Assert.Equal(ConvAlgorithmSearch.Heuristic, options.Cuda.ConvAlgorithmSearch);
    }

    private static DetectorOptions BindOptions(Dictionary<string, string?> settings)
    {
        settings["Detector:ModelPath"] = TestData.Model("yolov8n_int8_dynamic.onnx");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        Pipeline.Hosting.EdgeServiceCollectionExtensions.AddEdgeOptions<DetectorOptions>(services, configuration, DetectorOptions.Section);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<DetectorOptions>>().Value;
    }
}
