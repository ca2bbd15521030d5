namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// libjpeg-turbo's shrink-on-load: a JPEG decodes straight to n/8 of its size, much cheaper than in full.
/// </summary>
internal static class JpegScale
{
    /// <summary>
    /// The size a <paramref name="width"/>×<paramref name="height"/> JPEG decodes to at <paramref name="eighths"/>/8
    /// (libjpeg rounds up).
    /// </summary>
    public static (int Width, int Height) Of(int width, int height, int eighths) =>
        ((width * eighths + 7) / 8, (height * eighths + 7) / 8);
}
