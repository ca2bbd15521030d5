using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;

namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// One image's output slice → detections in source pixels: decode (confidence threshold, best class per anchor),
/// class-wise NMS, map back through the letterbox and clip. Not thread-safe: reuses its candidate lists.
/// </summary>
public sealed class DetectionPostprocessor(
    IOutputDecoder decoder, IReadOnlyList<string> labels, float confidence, float iou, int maxDetections)
{
    private readonly List<Candidate> _candidates = new(1024);
    private readonly List<Candidate> _kept = new(64);

    public int ValuesPerImage => decoder.ValuesPerImage;

    /// <summary>The detections, highest score first; null when the output held no finite score at all.</summary>
    public Detection[]? Process(ReadOnlySpan<float> image, in Letterbox letterbox)
    {
        _candidates.Clear();
        if (!decoder.Decode(image, confidence, _candidates)) return null;
        NonMaxSuppression.Apply(_candidates, iou, maxDetections, _kept);
        var detections = new Detection[_kept.Count];
        for (var i = 0; i < _kept.Count; i++)
        {
            var c = _kept[i];
            detections[i] = new Detection
            {
                ClassId = c.ClassId,
                Label = labels[c.ClassId],
                Confidence = c.Score,
                Box = letterbox.ToSource(c.X1, c.Y1, c.X2, c.Y2),
            };
        }
        return detections;
    }
}
