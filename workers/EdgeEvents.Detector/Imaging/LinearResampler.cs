using System.Numerics;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// OpenCV's <c>cv::resize(..., INTER_LINEAR)</c> on an 8-bit, 3-channel image, reproduced: bilinear with half-pixel
/// centres, no antialiasing, coefficients in 11-bit fixed point (<c>INTER_RESIZE_COEF_BITS</c>), the horizontal pass
/// exact in integers and the vertical one rounded as OpenCV's SIMD loop rounds it (its scalar tail rounds slightly
/// differently, and is reproduced too); an exact halving is an average of 2×2 pixels, as OpenCV switches to its fast
/// <c>INTER_AREA</c> there. Element positions are counted in OpenCV's BGR order, since where its SIMD loop ends
/// depends on them. Not thread-safe: one per pipeline.
/// </summary>
internal sealed class LinearResampler(InputFormat format) : IResampler
{
    private const int CoefBits = 11;
    private const int CoefScale = 1 << CoefBits;
    // OpenCV's x86-64 baseline is 128-bit SIMD: 16 bytes, 8 shorts per vector.
    private const int BytesPerVector = 16, ShortsPerVector = 8;
    // C's DBL_EPSILON (.NET's double.Epsilon is the smallest denormal instead).
    private const double DblEpsilon = 2.220446049250313e-16;

    private readonly InputFormat _format = format;
    private int[] _xOffsets = [];
    private short[] _alphas = [];
    // Two horizontally resized rows (3 ints per pixel) and the source rows they hold.
    private int[] _row0 = [], _row1 = [];
    private int _row0Source, _row1Source;
    private byte[] _line = [];

    public void Resample(ReadOnlySpan<byte> source, int width, int height, int bytesPerPixel, bool sourceBgr,
        Letterbox box, Span<float> tensor)
    {
        LetterboxPadding.Fill(tensor, _format, box);
        var (rw, rh) = (box.ResizedWidth, box.ResizedHeight);
        var context = new Output(_format, box, sourceBgr, tensor);
        var (scaleX, scaleY) = (1.0 / ((double)rw / width), 1.0 / ((double)rh / height));
        if (IsExactHalving(scaleX) && IsExactHalving(scaleY)) Halve(source, width, bytesPerPixel, rw, rh, context);
        else Bilinear(source, width, height, bytesPerPixel, scaleX, scaleY, rw, rh, context);
    }

    /// <summary>OpenCV's <c>is_area_fast</c> with an integer scale of 2.</summary>
    private static bool IsExactHalving(double scale) => Math.Abs(scale - 2) < DblEpsilon;

    private void Halve(ReadOnlySpan<byte> source, int width, int bytesPerPixel, int rw, int rh, Output output)
    {
        var stride = width * bytesPerPixel;
        PinnedBuffer.EnsureCapacity(ref _line, rw * 3);
        var line = _line.AsSpan(0, rw * 3);
        for (var y = 0; y < rh; y++)
        {
            var top = source.Slice(2 * y * stride, stride);
            var bottom = source.Slice((2 * y + 1) * stride, stride);
            for (var x = 0; x < rw; x++)
            {
                var (a, b) = (2 * x * bytesPerPixel, (2 * x + 1) * bytesPerPixel);
                for (var c = 0; c < 3; c++)
                    line[x * 3 + c] = (byte)((top[a + c] + top[b + c] + bottom[a + c] + bottom[b + c] + 2) >> 2);
            }
            output.WriteRow(y, line);
        }
    }

    private void Bilinear(ReadOnlySpan<byte> source, int width, int height, int bytesPerPixel, double scaleX,
        double scaleY, int rw, int rh, Output output)
    {
        PrepareColumns(width, rw, scaleX);
        PinnedBuffer.EnsureCapacity(ref _row0, rw * 3);
        PinnedBuffer.EnsureCapacity(ref _row1, rw * 3);
        PinnedBuffer.EnsureCapacity(ref _line, rw * 3);
        (_row0Source, _row1Source) = (-1, -1);
        var line = _line.AsSpan(0, rw * 3);
        var vectorEnd = VectorEnd(rw * 3);
        for (var y = 0; y < rh; y++)
        {
            var (sy, beta1) = Coordinate(y, scaleY);
            var beta0 = Coefficient(1f - beta1);
            var b1 = Coefficient(beta1);
            // OpenCV clips the two source rows into the image but keeps the weights.
            var (r0, r1) = (Math.Clamp(sy, 0, height - 1), Math.Clamp(sy + 1, 0, height - 1));
            var s0 = HorizontalRow(source, width, bytesPerPixel, r0, keep: r1, rw);
            var s1 = HorizontalRow(source, width, bytesPerPixel, r1, keep: r0, rw);
            VerticalRow(s0, s1, beta0, b1, line);
            // The pixels OpenCV's SIMD loop does not reach round the scalar way.
            for (var x = vectorEnd / 3; x < rw; x++)
                for (var c = 0; c < 3; c++)
                {
                    var i = x * 3 + c;
                    if (x * 3 + (output.SourceBgr ? c : 2 - c) >= vectorEnd)
                        line[i] = ScalarRound(s0[i], s1[i], beta0, b1);
                }
            output.WriteRow(y, line);
        }
    }

    /// <summary>
    /// Source column and fixed-point weights of each output column; OpenCV pins columns outside the image to its edge.
    /// </summary>
    private void PrepareColumns(int width, int rw, double scaleX)
    {
        PinnedBuffer.EnsureCapacity(ref _xOffsets, rw);
        PinnedBuffer.EnsureCapacity(ref _alphas, 2 * rw);
        for (var x = 0; x < rw; x++)
        {
            var (sx, fx) = Coordinate(x, scaleX);
            if (sx < 0) (sx, fx) = (0, 0);
            if (sx >= width - 1) (sx, fx) = (width - 1, 0);
            _xOffsets[x] = sx;
            _alphas[2 * x] = Coefficient(1f - fx);
            _alphas[2 * x + 1] = Coefficient(fx);
        }
    }

    /// <summary>
    /// Source row <paramref name="row"/> resized horizontally (values scaled by 2¹¹), computed once per frame into
    /// whichever of the two buffers does not hold row <paramref name="keep"/>.
    /// </summary>
    private int[] HorizontalRow(ReadOnlySpan<byte> source, int width, int bytesPerPixel, int row, int keep, int rw)
    {
        if (row == _row0Source) return _row0;
        if (row == _row1Source) return _row1;
        if (_row0Source == keep) (_row0, _row1, _row0Source, _row1Source) = (_row1, _row0, _row1Source, _row0Source);
        _row0Source = row;
        var target = _row0;
        var line = source.Slice(row * width * bytesPerPixel, width * bytesPerPixel);
        for (var x = 0; x < rw; x++)
        {
            var sx = _xOffsets[x];
            var (a0, a1) = (_alphas[2 * x], _alphas[2 * x + 1]);
            var (p0, p1) = (sx * bytesPerPixel, Math.Min(sx + 1, width - 1) * bytesPerPixel);
            for (var c = 0; c < 3; c++) target[x * 3 + c] = line[p0 + c] * a0 + line[p1 + c] * a1;
        }
        return target;
    }

    /// <summary>
    /// OpenCV's source coordinate of output index <paramref name="i"/>: float, floored, and its fraction.
    /// </summary>
    private static (int Index, float Fraction) Coordinate(int i, double scale)
    {
        var f = (float)((i + 0.5) * scale - 0.5);
        var index = (int)MathF.Floor(f);
        return (index, f - index);
    }

    /// <summary><c>saturate_cast&lt;short&gt;(w * 2048)</c>: rounded half to even.</summary>
    private static short Coefficient(float weight) =>
        (short)Math.Clamp(MathF.Round(weight * CoefScale, MidpointRounding.ToEven), short.MinValue, short.MaxValue);

    /// <summary>
    /// OpenCV's <c>VResizeLinearVec_32s8u</c> over a whole row: rows shifted to 16 bits, high halves of the products,
    /// rounded by 2 bits (in 32-bit lanes, where the 16-bit products fit exactly).
    /// </summary>
    private static void VerticalRow(ReadOnlySpan<int> s0, ReadOnlySpan<int> s1, short b0, short b1, Span<byte> line)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (w0, w1, two, max) =
                (new Vector<int>(b0), new Vector<int>(b1), new Vector<int>(2), new Vector<int>(255));
            for (; i <= line.Length - Vector<int>.Count; i += Vector<int>.Count)
            {
                var sum = Vector.ShiftRightArithmetic(Vector.ShiftRightArithmetic(new Vector<int>(s0[i..]), 4) * w0, 16)
                    + Vector.ShiftRightArithmetic(Vector.ShiftRightArithmetic(new Vector<int>(s1[i..]), 4) * w1, 16);
                var value = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(sum + two, 2), Vector<int>.Zero), max);
                for (var k = 0; k < Vector<int>.Count; k++) line[i + k] = (byte)value[k];
            }
        }
        for (; i < line.Length; i++)
        {
            var sum = ((s0[i] >> 4) * b0 >> 16) + ((s1[i] >> 4) * b1 >> 16);
            line[i] = (byte)Math.Clamp((sum + 2) >> 2, 0, 255);
        }
    }

    /// <summary>OpenCV's scalar <c>FixedPtCast</c> of the same sum, for the elements after its SIMD loop.</summary>
    private static byte ScalarRound(int s0, int s1, short b0, short b1) =>
        (byte)Math.Clamp((s0 * b0 + s1 * b1 + (1 << (2 * CoefBits - 1))) >> (2 * CoefBits), 0, 255);

    /// <summary>
    /// Where OpenCV's vertical SIMD loops stop in a row of <paramref name="elements"/> bytes: 16 at a time, then 8
    /// while more than 8 remain.
    /// </summary>
    private static int VectorEnd(int elements)
    {
        var x = 0;
        while (x <= elements - BytesPerVector) x += BytesPerVector;
        while (x < elements - ShortsPerVector) x += ShortsPerVector;
        return x;
    }

    /// <summary>Writes resized rows of interleaved bytes into the tensor's planes.</summary>
    private readonly ref struct Output(InputFormat format, Letterbox box, bool sourceBgr, Span<float> tensor)
    {
        private readonly Span<float> _tensor = tensor;

        public bool SourceBgr { get; } = sourceBgr;

        public void WriteRow(int y, ReadOnlySpan<byte> line)
        {
            var plane = format.Width * format.Height;
            var offset = (y + box.PadTop) * format.Width + box.PadLeft;
            var swap = SourceBgr != format.Bgr;
            var divisor = format.PixelDivisor;
            for (var c = 0; c < 3; c++)
            {
                var target = _tensor.Slice((swap ? 2 - c : c) * plane + offset, box.ResizedWidth);
                for (var x = 0; x < target.Length; x++) target[x] = line[x * 3 + c] / divisor;
            }
        }
    }
}
