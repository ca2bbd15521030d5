using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// The antialiased bicubic resample of the <c>Fast</c> preprocessing (<see cref="ResizeKernel"/>), vectorised, written
/// straight into the tensor's channel planes at the letterbox offset. Buffers grow only for larger images. Not
/// thread-safe: one per pipeline.
/// </summary>
internal sealed class BicubicResampler(InputFormat format) : IResampler
{
    private const int MaxCachedKernels = 16;

    private readonly InputFormat _format = format;
    private readonly Dictionary<(int Source, int Target), ResizeKernel> _kernels = [];
    private float[] _rows = [];
    private float[] _line = [];

    /// <summary>
    /// Separable resample of <paramref name="source"/> (interleaved, <paramref name="bytesPerPixel"/> 3 or 4) to the
    /// letterbox's resized size, written as three channel planes (clamped to 0..255, divided by the format's divisor)
    /// at the letterbox offset; padding is 114. Output rows are produced in order; each needs a window of horizontally
    /// resampled source rows, which are computed once, when first needed, into a ring that stays in cache.
    /// </summary>
    public void Resample(ReadOnlySpan<byte> source, int width, int height, int bytesPerPixel, bool sourceBgr,
        Letterbox box, Span<float> tensor)
    {
        var (rw, rh) = (box.ResizedWidth, box.ResizedHeight);
        var kx = Kernel(width, rw);
        var ky = Kernel(height, rh);
        var ring = ky.Taps;
        PinnedBuffer.EnsureCapacity(ref _rows, (long)ring * rw * 4);
        // The source row in floats, plus zeroed room for the zero-weight taps that run past its end.
        PinnedBuffer.EnsureCapacity(ref _line, (long)(width + 2 * kx.Pairs) * 4);
        var line = _line.AsSpan(0, width * 4);
        _line.AsSpan(width * 4, 2 * kx.Pairs * 4).Clear();

        var plane = _format.Width * _format.Height;
        LetterboxPadding.Fill(tensor, _format, box);
        // Plane order R,G,B (YOLOv8) or B,G,R (YOLOX): the plane each source channel goes to.
        var swap = sourceBgr != _format.Bgr;
        var (to0, to2) = swap ? (2 * plane, 0) : (0, 2 * plane);
        var nextRow = ky.Start[0];
        for (var y = 0; y < rh; y++)
        {
            var first = ky.Start[y];
            var count = ky.Count[y];
            // Window starts never move backwards, so rows before `first` are done with and their ring slots reusable.
            for (nextRow = Math.Max(nextRow, first); nextRow < first + count; nextRow++)
            {
                ToFloats(source.Slice(nextRow * width * bytesPerPixel, width * bytesPerPixel), bytesPerPixel, line);
                HorizontalPass(kx, _rows.AsSpan(nextRow % ring * rw * 4, rw * 4));
            }
            var offset = (y + box.PadTop) * _format.Width + box.PadLeft;
            VerticalPass(first, count, ring, rw, ky.Weights.AsSpan(y * ky.Stride, count),
                tensor.Slice(to0 + offset, rw), tensor.Slice(plane + offset, rw), tensor.Slice(to2 + offset, rw));
        }
    }

    /// <summary>
    /// One output row: per pixel, the window's horizontally resampled rows weighted and summed (tap by tap, in order),
    /// clamped to 0..255 and divided, its channels written to three planes. Eight pixels run side by side (two per
    /// 256-bit register), independent sums as in <see cref="HorizontalPass"/>; nothing is stored between taps.
    /// </summary>
    private void VerticalPass(int first, int count, int ring, int rw, ReadOnlySpan<float> weights,
        Span<float> plane0, Span<float> plane1, Span<float> plane2)
    {
        ref var rows = ref MemoryMarshal.GetArrayDataReference(_rows);
        Span<nuint> starts = stackalloc nuint[count];
        for (var k = 0; k < count; k++) starts[k] = (nuint)((first + k) % ring * rw * 4);
        var (max, divisor) = (Vector128.Create(255f), Vector128.Create(_format.PixelDivisor));
        var x = 0;
        for (; x + 8 <= rw; x += 8)
        {
            // Two pixels per 256-bit register; each lane is the same multiply-add (fused where the CPU has FMA) as the
            // 128-bit loop below.
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            var at = (nuint)x * 4;
            for (var k = 0; k < count; k++)
            {
                var w = Vector256.Create(weights[k]);
                s0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rows, starts[k] + at), w, s0);
                s1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rows, starts[k] + at + 8), w, s1);
                s2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rows, starts[k] + at + 16), w, s2);
                s3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rows, starts[k] + at + 24), w, s3);
            }
            Store4(s0.GetLower(), s0.GetUpper(), s1.GetLower(), s1.GetUpper(), max, divisor, plane0, plane1, plane2, x);
            Store4(s2.GetLower(), s2.GetUpper(), s3.GetLower(), s3.GetUpper(), max, divisor,
                plane0, plane1, plane2, x + 4);
        }
        for (; x < rw; x++)
        {
            var sum = Vector128<float>.Zero;
            for (var k = 0; k < count; k++)
            {
                sum = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rows, starts[k] + (nuint)x * 4),
                    Vector128.Create(weights[k]), sum);
            }
            Store(sum, max, divisor, plane0, plane1, plane2, x);
        }
    }

    /// <summary>
    /// Four RGBA pixels at <paramref name="at"/>..+3 into the planes: transposed with SSE shuffles into one vector per
    /// plane (a quarter of the stores of <see cref="Store"/>), then clamped and divided element by element exactly as
    /// there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(Vector128<float> p0, Vector128<float> p1, Vector128<float> p2, Vector128<float> p3,
        Vector128<float> max, Vector128<float> divisor, Span<float> plane0, Span<float> plane1, Span<float> plane2,
        int at)
    {
        if (!Sse.IsSupported)
        {
            Store(p0, max, divisor, plane0, plane1, plane2, at);
            Store(p1, max, divisor, plane0, plane1, plane2, at + 1);
            Store(p2, max, divisor, plane0, plane1, plane2, at + 2);
            Store(p3, max, divisor, plane0, plane1, plane2, at + 3);
            return;
        }
        var low01 = Sse.UnpackLow(p0, p1); // r0 r1 g0 g1
        var low23 = Sse.UnpackLow(p2, p3); // r2 r3 g2 g3
        var high01 = Sse.UnpackHigh(p0, p1); // b0 b1 a0 a1
        var high23 = Sse.UnpackHigh(p2, p3); // b2 b3 a2 a3
        Clamped(Sse.MoveLowToHigh(low01, low23), max, divisor).CopyTo(plane0[at..]);
        Clamped(Sse.MoveHighToLow(low23, low01), max, divisor).CopyTo(plane1[at..]);
        Clamped(Sse.MoveLowToHigh(high01, high23), max, divisor).CopyTo(plane2[at..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Clamped(Vector128<float> values, Vector128<float> max, Vector128<float> divisor) =>
        Vector128.Min(Vector128.Max(values, Vector128<float>.Zero), max) / divisor;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> pixel, Vector128<float> max, Vector128<float> divisor,
        Span<float> plane0, Span<float> plane1, Span<float> plane2, int at)
    {
        pixel = Clamped(pixel, max, divisor);
        plane0[at] = pixel.GetElement(0);
        plane1[at] = pixel.GetElement(1);
        plane2[at] = pixel.GetElement(2);
    }

    /// <summary>
    /// One row of the horizontal pass from <see cref="_line"/>: per output pixel, its taps two at a time (adjacent RGBA
    /// pixels in one 256-bit register, times <see cref="ResizeKernel.PairedWeights"/>), the even and odd taps' sums
    /// added at the end; half the loads of one tap at a time, which is what bounded this loop. Four pixels run side by
    /// side (independent sums, so the CPU overlaps them). A pixel's extra taps weigh 0 and add exactly nothing.
    /// Without 256-bit vectors the same sums run in two 128-bit halves.
    /// </summary>
    private void HorizontalPass(ResizeKernel kernel, Span<float> output)
    {
        ref var line = ref MemoryMarshal.GetArrayDataReference(_line);
        ref var weights = ref MemoryMarshal.GetArrayDataReference(kernel.PairedWeights);
        var (span, start, width) = ((nuint)kernel.Pairs * 8, kernel.Start, kernel.TargetLength);
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; x + 4 <= width; x += 4)
            {
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                var (p0, p1, p2, p3) =
                    ((nuint)start[x] * 4, (nuint)start[x + 1] * 4, (nuint)start[x + 2] * 4, (nuint)start[x + 3] * 4);
                var w = (nuint)x * span;
                for (nuint k = 0; k < span; k += 8)
                {
                    s0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref line, p0 + k),
                        Vector256.LoadUnsafe(ref weights, w + k), s0);
                    s1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref line, p1 + k),
                        Vector256.LoadUnsafe(ref weights, w + span + k), s1);
                    s2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref line, p2 + k),
                        Vector256.LoadUnsafe(ref weights, w + 2 * span + k), s2);
                    s3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref line, p3 + k),
                        Vector256.LoadUnsafe(ref weights, w + 3 * span + k), s3);
                }
                (s0.GetLower() + s0.GetUpper()).CopyTo(output.Slice(x * 4, 4));
                (s1.GetLower() + s1.GetUpper()).CopyTo(output.Slice(x * 4 + 4, 4));
                (s2.GetLower() + s2.GetUpper()).CopyTo(output.Slice(x * 4 + 8, 4));
                (s3.GetLower() + s3.GetUpper()).CopyTo(output.Slice(x * 4 + 12, 4));
            }
        }
        for (; x < width; x++)
        {
            var (p, w) = ((nuint)start[x] * 4, (nuint)x * span);
            Vector128<float> even = default, odd = default;
            for (nuint k = 0; k < span; k += 8)
            {
                even = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref line, p + k),
                    Vector128.LoadUnsafe(ref weights, w + k), even);
                odd = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref line, p + k + 4),
                    Vector128.LoadUnsafe(ref weights, w + k + 4), odd);
            }
            (even + odd).CopyTo(output.Slice(x * 4, 4));
        }
    }

    /// <summary>
    /// Interleaved bytes (3 or 4 per pixel) → 4 floats per pixel, the fourth unused for 3-byte pixels.
    /// </summary>
    private static void ToFloats(ReadOnlySpan<byte> source, int bytesPerPixel, Span<float> line)
    {
        if (bytesPerPixel == 4)
        {
            var i = 0;
            for (; i <= source.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(source[i..]), out var low, out var high);
                Vector.Widen(low, out var a, out var b);
                Vector.Widen(high, out var c, out var d);
                var n = Vector<uint>.Count;
                Vector.ConvertToSingle(a).CopyTo(line[i..]);
                Vector.ConvertToSingle(b).CopyTo(line[(i + n)..]);
                Vector.ConvertToSingle(c).CopyTo(line[(i + 2 * n)..]);
                Vector.ConvertToSingle(d).CopyTo(line[(i + 3 * n)..]);
            }
            for (; i < source.Length; i++) line[i] = source[i];
            return;
        }
        for (int i = 0, j = 0; i < source.Length; i += 3, j += 4)
        {
            line[j] = source[i];
            line[j + 1] = source[i + 1];
            line[j + 2] = source[i + 2];
        }
    }

    private ResizeKernel Kernel(int source, int target)
    {
        if (_kernels.TryGetValue((source, target), out var kernel)) return kernel;
        if (_kernels.Count >= MaxCachedKernels) _kernels.Clear();
        return _kernels[(source, target)] = ResizeKernel.Create(source, target);
    }
}
