using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Rollout;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>The rollout gate's timing with the real models, at the default settings. Serial: each loads two models.</summary>
[Collection(RealModels.Name)]
public sealed class ModelGate_Tests(ITestOutputHelper output)
{
    private static readonly string YoloV8 = TestData.Model("yolov8n_int8_dynamic.onnx");
    private static readonly string YoloV8Opset11 = TestData.Model("yolov8n_int8_dynamic_opset11.onnx");
    private static readonly RolloutOptions Defaults = new();

    [Fact]
    public void The_same_model_loaded_twice_passes_the_gate_at_the_default_slowdown()
    {
        var gate = Run(YoloV8, YoloV8);

        Assert.True(gate.Passed, gate.Reason);
        Assert.Equal(1.0, gate.Report!.Agreement);
        // Warm, in turns, the median ratio: a fresh session's slow first runs or a load spike do not show.
        Assert.InRange(gate.Slowdown!.Value, 1 / Defaults.MaxSlowdown, Defaults.MaxSlowdown);
    }

    [Fact]
    public void The_opset11_export_agrees_but_is_rejected_for_its_speed_at_the_default_slowdown()
    {
        var gate = Run(YoloV8Opset11, YoloV8);

        // Warm and timed in turns it still runs several times slower on a CPU: its int8 ConvInteger path.
        Assert.False(gate.Passed);
        Assert.InRange(gate.Report!.Agreement, Defaults.MinAgreement, 1.0);
        Assert.True(gate.Slowdown > 3, $"median ratio {gate.Slowdown:F2}");
        Assert.Contains("slower than", gate.Reason);
    }

    private GateResult Run(string candidatePath, string currentPath)
    {
        var options = new DetectorOptions { Providers = "CPU", WarmupRuns = 1 };
        using var candidate = ImageDetector.Load(options with { ModelPath = candidatePath }, NullLogger.Instance);
        using var current = ImageDetector.Load(options with { ModelPath = currentPath }, NullLogger.Instance);
        var samples = EvaluationImages.Load(TestData.SamplesFolder).Select(s => s.Frame).ToList();
        var frames = Enumerable.Range(0, Defaults.GateFrames).Select(i => samples[i % samples.Count]).ToList();

        var gate = ModelGate.Run(candidate, current, frames, Defaults.MinAgreement, Defaults.MaxSlowdown, Defaults);

        output.WriteLine($"{Path.GetFileName(candidatePath)} against {Path.GetFileName(currentPath)}, {Environment.ProcessorCount} cores: " +
                         $"{(gate.Passed ? "passed" : "rejected")}: {gate.Reason}");
        return gate;
    }
}
