using EdgeEvents.Testing;

namespace EdgeEvents.Cli.Tests;

public sealed class DetectorProviders_Tests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// This machine has no CUDA: the detector falls back to CPU quietly, saying once per provider what is missing.
    /// </summary>
    [Fact]
    public async Task Without_cuda_libraries_a_detector_start_names_the_missing_library_and_onnx_runtime_prints_no_load_error()
    {
        await using var broker = await MqttTestBroker.StartAsync(MqttTestBroker.Embedded);
        await using var detector = CliProcess.StartEdgeEvents("detector", "--broker", broker.Url, "--health-port", "0",
            "--model", TestData.Model("yolov8n_int8_dynamic.onnx"), "--providers", "TensorRT,CUDA,CPU",
            "--snapshots", "0");

        var deadline = DateTime.UtcNow + Timeout;
        while (!detector.StandardError.Contains("Inference session uses CPU", StringComparison.Ordinal))
        {
            Assert.False(detector.HasExited, $"detector exited:\n{detector.StandardError}");
            Assert.True(DateTime.UtcNow < deadline, $"no CPU session within {Timeout}:\n{detector.StandardError}");
            await Task.Delay(100);
        }
        var output = detector.StandardError + string.Join('\n', detector.OutputSoFar);

        Assert.Matches(@"Execution provider TensorRT skipped: lib[a-zA-Z]+\.so\.\d+ is not installed", output);
        Assert.Matches(@"Execution provider CUDA skipped: lib[a-zA-Z]+\.so\.\d+ is not installed", output);
        Assert.DoesNotContain("Failed to load library", output);
        Assert.DoesNotContain("[E:onnxruntime", output);
    }
}
