namespace EdgeEvents.Detector.Imaging;

/// <summary>Resizes decoded pixels into the letterbox of one CHW tensor slot, padding included.</summary>
internal interface IResampler
{
    /// <summary>
    /// Resizes <paramref name="source"/> (interleaved, <paramref name="bytesPerPixel"/> 3 or 4, the fourth ignored) to
    /// the letterbox's resized size and writes it as the format's three channel planes (divided by its divisor) at the
    /// letterbox offset; the rest of the slot gets the pad value.
    /// </summary>
    void Resample(ReadOnlySpan<byte> source, int width, int height, int bytesPerPixel, bool sourceBgr, Letterbox box,
        Span<float> tensor);
}
