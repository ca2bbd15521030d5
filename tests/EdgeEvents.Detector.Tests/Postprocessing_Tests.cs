using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using EdgeEvents.Detector.Inference;
using EdgeEvents.Detector.Postprocessing;
using Xunit;

namespace EdgeEvents.Detector.Tests;

public class Postprocessing_Tests
{
    private static readonly string[] Labels = ["person", "car", "bus"];

    // Identity letterbox: input pixels are source pixels.
    private static readonly Letterbox Identity = Letterbox.Compute(640, 640, 640, 640, centered: true);

    /// <summary>A YOLOv8 output [4 + 3, anchors]; <paramref name="set"/> writes (anchor, cx, cy, w, h, scores).</summary>
    private static float[] V8Output(int anchors, params (int Anchor, float Cx, float Cy, float W, float H, float[] Scores)[] set)
    {
        var t = new float[(4 + Labels.Length) * anchors];
        foreach (var (a, cx, cy, w, h, scores) in set)
        {
            t[a] = cx;
            t[anchors + a] = cy;
            t[2 * anchors + a] = w;
            t[3 * anchors + a] = h;
            for (var c = 0; c < scores.Length; c++) t[(4 + c) * anchors + a] = scores[c];
        }
        return t;
    }

    private static DetectionPostprocessor V8(int anchors, float iou = 0.7f, int maxDetections = 300) =>
        new(new YoloV8Decoder(Labels.Length, anchors), Labels, confidence: 0.25f, iou, maxDetections);

    [Fact]
    public void Yolov8_output_decodes_to_the_best_class_with_corner_boxes_in_source_pixels()
    {
        var output = V8Output(4, (2, 100, 200, 40, 60, [0.1f, 0.3f, 0.9f]));
        var letterbox = Letterbox.Compute(1280, 1280, 640, 640, centered: true);

        var detections = V8(4).Process(output, letterbox)!;

        var d = Assert.Single(detections);
        Assert.Equal((2, "bus", 0.9f), (d.ClassId, d.Label, d.Confidence));
        Assert.Equal(new Box(160, 340, 240, 460), d.Box);
    }

    [Fact]
    public void Identical_boxes_of_one_class_keep_only_the_first_highest_scoring()
    {
        var output = V8Output(3,
            (0, 100, 100, 50, 50, [0.8f, 0, 0]),
            (1, 100, 100, 50, 50, [0.8f, 0, 0]),
            (2, 100, 100, 50, 50, [0.6f, 0, 0]));

        var detections = V8(3).Process(output, Identity)!;

        Assert.Single(detections);
        Assert.Equal(0.8f, detections[0].Confidence);
    }

    [Fact]
    public void Overlapping_boxes_of_different_classes_are_both_kept()
    {
        var output = V8Output(2,
            (0, 100, 100, 50, 50, [0.9f, 0, 0]),
            (1, 102, 100, 50, 50, [0, 0.8f, 0]));

        var detections = V8(2).Process(output, Identity)!;

        Assert.Equal(["person", "car"], detections.Select(d => d.Label));
    }

    [Fact]
    public void Same_class_boxes_are_suppressed_only_above_the_iou_threshold()
    {
        // IoU of 50x50 boxes shifted by 10 px: 40*50 / (2*2500 - 2000) = 0.667.
        var output = V8Output(2,
            (0, 100, 100, 50, 50, [0.9f, 0, 0]),
            (1, 110, 100, 50, 50, [0.8f, 0, 0]));

        Assert.Equal(2, V8(2, iou: 0.7f).Process(output, Identity)!.Length);
        Assert.Single(V8(2, iou: 0.6f).Process(output, Identity)!);
    }

    [Fact]
    public void Scores_below_the_confidence_threshold_give_zero_detections_not_an_error()
    {
        var output = V8Output(3, (0, 100, 100, 50, 50, [0.2f, 0.1f, 0.24f]));

        var detections = V8(3).Process(output, Identity);

        Assert.NotNull(detections);
        Assert.Empty(detections);
    }

    [Fact]
    public void Nan_and_infinite_scores_and_boxes_are_ignored()
    {
        var output = V8Output(4,
            (0, 100, 100, 50, 50, [float.NaN, 0.5f, 0]),
            (1, 300, 300, 50, 50, [float.PositiveInfinity, 0, 0]),
            (2, float.NaN, 100, 50, 50, [0.9f, 0, 0]),
            (3, 500, 500, 50, 50, [0.7f, float.NaN, 0]));

        var detections = V8(4).Process(output, Identity)!;

        Assert.Equal([("person", 500f), ("car", 100f)], detections.Select(d => (d.Label, d.Box.CenterX)));
    }

    [Fact]
    public void An_output_of_nothing_but_nan_is_reported_as_broken()
    {
        var output = Enumerable.Repeat(float.NaN, 7 * 5).ToArray();

        Assert.Null(V8(5).Process(output, Identity));
    }

    [Fact]
    public void Detections_are_capped_at_the_maximum_highest_scores_first()
    {
        var boxes = Enumerable.Range(0, 10).Select(i => (i, 30f + 60 * i, 30f, 50f, 50f, new[] { 0.3f + 0.05f * i, 0f, 0f })).ToArray();

        var detections = V8(10, maxDetections: 3).Process(V8Output(10, boxes), Identity)!;

        Assert.Equal([0.75f, 0.7f, 0.65f], detections.Select(d => MathF.Round(d.Confidence, 2)));
    }

    [Fact]
    public void Yolox_output_is_decoded_on_the_stride_grid_with_objectness_times_class_score()
    {
        // 64x64 input: 8x8 (stride 8) + 4x4 (stride 16) + 2x2 (stride 32) = 84 anchors of 5 + 3 values.
        var decoder = new YoloXDecoder(Labels.Length, 64, 64);
        var output = new float[84 * 8];
        var anchor = 64 + 2 * 4 + 1; // stride 16, gx = 1, gy = 2
        float[] row = [0.5f, 0.5f, MathF.Log(2), 0, 0.8f, 0.1f, 0.5f, 0.2f];
        row.CopyTo(output, anchor * 8);
        output[5 * 8 + 4] = 0.9f; // objectness without a class score: 0.9 × 0 stays below the threshold

        var detections = new DetectionPostprocessor(decoder, Labels, 0.25f, 0.7f, 300).Process(output, Letterbox.Compute(64, 64, 64, 64, centered: false))!;

        var d = Assert.Single(detections);
        Assert.Equal(("car", 0.4f), (d.Label, d.Confidence));
        Assert.Equal(new Box(8, 32, 40, 48), d.Box with { X1 = MathF.Round(d.Box.X1, 3), X2 = MathF.Round(d.Box.X2, 3) });
    }

    [Fact]
    public void Layout_is_detected_from_the_output_shape()
    {
        Assert.Equal(ModelType.YoloV8, DetectorModel.DetectType([1, 84, 8400], hasUltralyticsNames: false));
        Assert.Equal(ModelType.YoloX, DetectorModel.DetectType([1, 3549, 85], hasUltralyticsNames: false));
        Assert.Equal(ModelType.YoloV8, DetectorModel.DetectType([1, -1, -1], hasUltralyticsNames: true));
    }

    [Fact]
    public void Class_names_are_parsed_from_the_python_dict_in_model_metadata()
    {
        var names = ClassNames.ParsePythonDict("""{0: 'person', 1: "o'clock", 2: 'traffic light'}""")!;

        Assert.Equal(["person", "o'clock", "traffic light"], names.OrderBy(n => n.Key).Select(n => n.Value));
    }

    [Fact]
    public void Class_names_fall_back_to_a_labels_file_then_to_coco()
    {
        var file = Path.GetTempFileName();
        File.WriteAllLines(file, ["cat", "", "dog"]);
        try
        {
            Assert.Equal(["cat", "dog", "class2"], ClassNames.Resolve(3, metadataNames: null, file, out _));
            Assert.Equal(["person", "bicycle"], ClassNames.Resolve(2, metadataNames: "not a dict", labelsPath: null, out var source));
            Assert.Contains("COCO", source);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
