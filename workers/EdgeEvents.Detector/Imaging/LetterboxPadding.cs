namespace EdgeEvents.Detector.Imaging;

/// <summary>The letterbox's border: everything in the tensor outside the resized image.</summary>
internal static class LetterboxPadding
{
    /// <summary>The pad value in 0..255 bytes (Ultralytics and YOLOX both pad with 114 grey).</summary>
    public const int Value = 114;

    /// <summary>
    /// Writes the pad value (divided by the format's divisor) into the padding of each plane; the image area is left
    /// alone.
    /// </summary>
    public static void Fill(Span<float> tensor, InputFormat format, Letterbox box)
    {
        var value = Value / format.PixelDivisor;
        var (width, height) = (format.Width, format.Height);
        var right = box.PadLeft + box.ResizedWidth;
        for (var c = 0; c < 3; c++)
        {
            var plane = tensor.Slice(c * width * height, width * height);
            plane[..(box.PadTop * width)].Fill(value);
            plane[((box.PadTop + box.ResizedHeight) * width)..].Fill(value);
            for (var y = box.PadTop; y < box.PadTop + box.ResizedHeight; y++)
            {
                plane.Slice(y * width, box.PadLeft).Fill(value);
                plane.Slice(y * width + right, width - right).Fill(value);
            }
        }
    }
}
