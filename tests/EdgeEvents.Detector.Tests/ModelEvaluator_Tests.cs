using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Evaluation;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace EdgeEvents.Detector.Tests;

/// <summary>The accuracy gate on the sample photos with the real models. Serial: each loads two models.</summary>
[Collection(RealModels.Name)]
public class ModelEvaluator_Tests(ITestOutputHelper output)
{
    private static readonly string YoloV8 = TestData.Model("yolov8n_int8_dynamic.onnx");
    private static readonly string YoloV8Opset11 = TestData.Model("yolov8n_int8_dynamic_opset11.onnx");
    private static readonly string YoloX = TestData.Model("yolox_nano_416.onnx");

    [Fact]
    public void A_model_agrees_with_itself_completely()
    {
        var report = Evaluate(YoloV8, YoloV8);

        Assert.Equal(1.0, report.Agreement);
        Assert.All(report.Classes, c => Assert.Equal((1.0, 1.0, 0.0), (c.Precision, c.Recall, c.MeanConfidenceShift)));
        Assert.True(report.Overall.Matched > 10, $"only {report.Overall.Matched} detections on the samples");
    }

    [Fact]
    public void The_two_yolov8n_exports_agree_at_least_0_9()
    {
        var report = Evaluate(YoloV8Opset11, YoloV8);

        Assert.InRange(report.Agreement, 0.9, 1.0);
        Assert.InRange(report.Overall.MeanIoU, 0.9, 1.0);
    }

    [Fact]
    public void Yolox_agrees_less_with_yolov8n_than_yolov8ns_other_export()
    {
        var yolox = Evaluate(YoloX, YoloV8);
        var opset11 = Evaluate(YoloV8Opset11, YoloV8);

        Assert.True(yolox.Agreement < opset11.Agreement, $"YOLOX {yolox.Agreement:F3}, opset 11 {opset11.Agreement:F3}");
        Assert.True(yolox.Agreement < 0.9, $"YOLOX agrees {yolox.Agreement:F3}");
    }

    [Fact]
    public void The_fast_preprocessing_is_reported_against_the_reference_one()
    {
        var report = Evaluate(YoloV8, YoloV8, PreprocessMode.Fast);

        // Same model, different letterbox: boxes move by pixels, borderline detections come and go.
        Assert.InRange(report.Agreement, 0.7, 0.999);
        Assert.InRange(report.Overall.MeanIoU, 0.85, 1.0);
    }

    [Fact]
    public void Matching_needs_the_same_class_and_an_iou_of_one_half()
    {
        Detection D(int classId, float x, float confidence = 0.5f) =>
            new() { ClassId = classId, Label = $"c{classId}", Confidence = confidence, Box = new Box(x, 0, x + 10, 10) };
        var reference = new[] { D(0, 0), D(1, 100), D(0, 200) };
        var candidate = new[] { D(0, 2, 0.6f), D(0, 100), D(0, 206) }; // IoU 0.67 same class; other class; IoU 0.25

        var match = Assert.Single(DetectionMatcher.Match(candidate, reference));

        Assert.Equal((0f, 2f), (match.Reference.Box.X1, match.Candidate.Box.X1));
        Assert.Equal(8f / 12f, match.IoU, 5);
    }

    private AgreementReport Evaluate(string candidatePath, string referencePath, PreprocessMode candidatePreprocess = PreprocessMode.Reference)
    {
        var options = new DetectorOptions { Providers = "CPU", WarmupRuns = 1 };
        using var candidate = ImageDetector.Load(options with { ModelPath = candidatePath, Preprocess = candidatePreprocess }, NullLogger.Instance);
        using var reference = ImageDetector.Load(options with { ModelPath = referencePath }, NullLogger.Instance);
        var evaluator = new ModelEvaluator(candidate, reference);
        foreach (var (_, frame) in EvaluationImages.Load(TestData.SamplesFolder)) evaluator.Add(frame);
        var report = evaluator.Report();
        output.WriteLine($"{Path.GetFileName(candidatePath)} ({candidatePreprocess}) vs {Path.GetFileName(referencePath)}: agreement {report.Agreement:F3}, " +
            $"precision {report.Overall.Precision:F3}, recall {report.Overall.Recall:F3}, mean IoU {report.Overall.MeanIoU:F3}, " +
            $"confidence shift {report.Overall.MeanConfidenceShift:+0.000;-0.000}, {report.CandidateMsPerImage:F1} / {report.ReferenceMsPerImage:F1} ms per image");
        foreach (var c in report.Classes)
            output.WriteLine($"  {c.Label}: {c.ReferenceDetections} ref, {c.CandidateDetections} cand, {c.Matched} matched, P {c.Precision:F2} R {c.Recall:F2}");
        return report;
    }
}
