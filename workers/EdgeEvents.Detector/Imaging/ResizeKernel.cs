namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// Weights of a one-dimensional antialiased bicubic resample (Keys/Catmull-Rom, a = −0.5): when shrinking, the kernel
/// is widened by the shrink ratio so every source pixel contributes (as PIL, ImageSharp and torchvision's antialias
/// do), instead of skipping pixels like a plain bilinear. Output pixel i is centred on source coordinate
/// (i + ½)·ratio − ½.
/// </summary>
public sealed class ResizeKernel
{
    private const float Radius = 2;

    private ResizeKernel(int sourceLength, int targetLength, int[] start, int[] count, float[] weights, int stride)
    {
        SourceLength = sourceLength;
        TargetLength = targetLength;
        Start = start;
        Count = count;
        Weights = weights;
        Stride = stride;
        Taps = count.Max();
        PairedWeights = Paired(weights, targetLength, stride, Taps);
    }

    public int SourceLength { get; }
    public int TargetLength { get; }
    /// <summary>First source index contributing to each target index.</summary>
    public int[] Start { get; }
    /// <summary>Number of source indices contributing to each target index.</summary>
    public int[] Count { get; }
    /// <summary>
    /// Normalised weights, <see cref="Stride"/> per target index; zero after each index's <see cref="Count"/>.
    /// </summary>
    public float[] Weights { get; }
    public int Stride { get; }
    /// <summary>
    /// The largest <see cref="Count"/>: running every index over this many taps (the extra ones weigh 0) gives a
    /// uniform loop.
    /// </summary>
    public int Taps { get; }
    /// <summary>Tap pairs per target index: <see cref="Taps"/> rounded up to even, halved.</summary>
    public int Pairs => (Taps + 1) / 2;
    /// <summary>
    /// The weights for four-channel pixels, two taps at a time: per target index and pair, eight floats (the even tap's
    /// weight four times, then the odd one's), so one 256-bit multiply-add covers two adjacent RGBA pixels.
    /// </summary>
    public float[] PairedWeights { get; }

    public static ResizeKernel Create(int sourceLength, int targetLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetLength, 1);
        var ratio = (double)sourceLength / targetLength;
        var scale = Math.Max(1.0, ratio);
        var radius = (int)Math.Ceiling(scale * Radius);
        var stride = 2 * radius + 2;
        var start = new int[targetLength];
        var count = new int[targetLength];
        var weights = new float[targetLength * stride];
        for (var i = 0; i < targetLength; i++)
        {
            var center = (i + 0.5) * ratio - 0.5;
            var left = Math.Max(0, (int)Math.Ceiling(center - radius));
            var right = Math.Min(sourceLength - 1, (int)Math.Floor(center + radius));
            var sum = 0f;
            for (var j = left; j <= right; j++)
            {
                var w = Cubic((float)((j - center) / scale));
                weights[i * stride + j - left] = w;
                sum += w;
            }
            if (sum != 0)
                for (var j = left; j <= right; j++) weights[i * stride + j - left] /= sum;
            // The integer window overshoots the kernel's support (scale × 2) by up to a pixel each side: drop those
            // zero-weight taps, which add nothing to a sum but still cost a multiply-add each.
            var (first, last) = (left, right);
            while (first < last && weights[i * stride + first - left] == 0) first++;
            while (last > first && weights[i * stride + last - left] == 0) last--;
            if (first > left)
                weights.AsSpan(i * stride + first - left, last - first + 1).CopyTo(weights.AsSpan(i * stride));
            weights.AsSpan(i * stride + last - first + 1, stride - (last - first + 1)).Clear();
            start[i] = first;
            count[i] = last - first + 1;
        }
        return new ResizeKernel(sourceLength, targetLength, start, count, weights, stride);
    }

    private static float[] Paired(float[] weights, int targetLength, int stride, int taps)
    {
        var pairs = (taps + 1) / 2;
        var paired = new float[targetLength * pairs * 8];
        for (var i = 0; i < targetLength; i++)
            for (var k = 0; k < taps; k++)
                paired.AsSpan((i * pairs + k / 2) * 8 + k % 2 * 4, 4).Fill(weights[i * stride + k]);
        return paired;
    }

    private static float Cubic(float x)
    {
        x = Math.Abs(x);
        if (x <= 1) return (1.5f * x - 2.5f) * x * x + 1;
        if (x < 2) return ((-0.5f * x + 2.5f) * x - 4) * x + 2;
        return 0;
    }
}
