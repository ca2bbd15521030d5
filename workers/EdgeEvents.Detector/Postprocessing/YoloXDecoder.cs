namespace EdgeEvents.Detector.Postprocessing;

/// <summary>
/// YOLOX output <c>[A, 5 + C]</c> per image, as exported without in-model decoding: per anchor the raw box offsets
/// (dx, dy, log w, log h), the objectness and C class scores (both already sigmoid). Anchors run over the stride 8, 16
/// and 32 grids in row-major order; a box is <c>((dx + gx)·s, (dy + gy)·s, e^lw·s, e^lh·s)</c> and its score
/// objectness × class.
/// </summary>
public sealed class YoloXDecoder : IOutputDecoder
{
    public static readonly int[] Strides = [8, 16, 32];

    private readonly int _anchors;
    private readonly int _stride;
    private readonly float[] _gridX;
    private readonly float[] _gridY;
    private readonly float[] _gridStride;

    public YoloXDecoder(int classCount, int inputWidth, int inputHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ClassCount = classCount;
        _stride = 5 + classCount;
        _anchors = AnchorCount(inputWidth, inputHeight);
        _gridX = new float[_anchors];
        _gridY = new float[_anchors];
        _gridStride = new float[_anchors];
        var k = 0;
        foreach (var s in Strides)
        {
            for (var y = 0; y < inputHeight / s; y++)
            {
                for (var x = 0; x < inputWidth / s; x++, k++)
                {
                    _gridX[k] = x;
                    _gridY[k] = y;
                    _gridStride[k] = s;
                }
            }
        }
    }

    /// <summary>Anchors a YOLOX model has for an input size (e.g. 3549 for 416 × 416).</summary>
    public static int AnchorCount(int inputWidth, int inputHeight) =>
        Strides.Sum(s => inputWidth / s * (inputHeight / s));

    public int ClassCount { get; }
    public int ValuesPerImage => _anchors * _stride;

    public bool Decode(ReadOnlySpan<float> image, float confidence, List<Candidate> candidates)
    {
        if (image.Length != ValuesPerImage)
        {
            throw new ArgumentException(
                $"Output slice has {image.Length} values; {ValuesPerImage} expected.", nameof(image));
        }
        var anyFinite = false;
        for (var i = 0; i < _anchors; i++)
        {
            var row = image.Slice(i * _stride, _stride);
            var objectness = row[4];
            var bestScore = float.NegativeInfinity;
            var bestClass = 0;
            for (var c = 0; c < ClassCount; c++)
            {
                var score = objectness * row[5 + c];
                if (score > bestScore && score <= float.MaxValue)
                {
                    bestScore = score;
                    bestClass = c;
                }
            }
            if (!float.IsFinite(bestScore)) continue;
            anyFinite = true;
            if (bestScore < confidence) continue;
            var s = _gridStride[i];
            var cx = (row[0] + _gridX[i]) * s;
            var cy = (row[1] + _gridY[i]) * s;
            var w = MathF.Exp(row[2]) * s;
            var h = MathF.Exp(row[3]) * s;
            var (x1, y1, x2, y2) = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
            if (!float.IsFinite(x1) || !float.IsFinite(y1) || !float.IsFinite(x2) || !float.IsFinite(y2)) continue;
            candidates.Add(new Candidate(x1, y1, x2, y2, bestScore, bestClass, i));
        }
        return anyFinite;
    }
}
