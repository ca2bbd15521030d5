namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// YOLOv8/YOLO11 head output <c>[4 + C, A]</c> per image: rows cx, cy, w, h, then one row of class scores per class
/// (already sigmoid; no objectness). Not thread-safe: holds per-anchor scratch arrays.
/// </summary>
public sealed class YoloV8Decoder : IOutputDecoder
{
    private readonly int _anchors;
    private readonly float[] _best;
    private readonly int[] _bestClass;

    public YoloV8Decoder(int classCount, int anchorCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(anchorCount, 1);
        ClassCount = classCount;
        _anchors = anchorCount;
        _best = new float[anchorCount];
        _bestClass = new int[anchorCount];
    }

    public int ClassCount { get; }
    public int ValuesPerImage => (4 + ClassCount) * _anchors;

    public bool Decode(ReadOnlySpan<float> image, float confidence, List<Candidate> candidates)
    {
        if (image.Length != ValuesPerImage)
        {
            throw new ArgumentException(
                $"Output slice has {image.Length} values; {ValuesPerImage} expected.", nameof(image));
        }
        var a = _anchors;
        var best = _best.AsSpan();
        var bestClass = _bestClass.AsSpan();
        best.Fill(float.NegativeInfinity);
        bestClass.Clear();
        // Row by row (contiguous) rather than anchor by anchor (strided): the class rows dominate the tensor.
        for (var c = 0; c < ClassCount; c++)
        {
            var row = image.Slice((4 + c) * a, a);
            for (var i = 0; i < a; i++)
            {
                // NaN never compares greater and +Inf fails the upper bound, so non-finite scores are ignored.
                if (row[i] > best[i] && row[i] <= float.MaxValue)
                {
                    best[i] = row[i];
                    bestClass[i] = c;
                }
            }
        }
        var anyFinite = false;
        var cx = image[..a];
        var cy = image.Slice(a, a);
        var w = image.Slice(2 * a, a);
        var h = image.Slice(3 * a, a);
        for (var i = 0; i < a; i++)
        {
            var score = best[i];
            if (!float.IsFinite(score)) continue;
            anyFinite = true;
            if (score < confidence) continue;
            var (x1, y1, x2, y2) = (cx[i] - w[i] / 2, cy[i] - h[i] / 2, cx[i] + w[i] / 2, cy[i] + h[i] / 2);
            if (!float.IsFinite(x1) || !float.IsFinite(y1) || !float.IsFinite(x2) || !float.IsFinite(y2)) continue;
            candidates.Add(new Candidate(x1, y1, x2, y2, score, bestClass[i], i));
        }
        return anyFinite;
    }
}
