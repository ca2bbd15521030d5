using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// Where a source image lands inside the model input: scaled by <see cref="Scale"/> (aspect kept) to
/// <see cref="ResizedWidth"/> × <see cref="ResizedHeight"/> at (<see cref="PadLeft"/>, <see cref="PadTop"/>); the rest
/// is padding.
/// </summary>
public readonly record struct Letterbox(
    int SourceWidth, int SourceHeight, int InputWidth, int InputHeight,
    float Scale, int ResizedWidth, int ResizedHeight, int PadLeft, int PadTop)
{
    /// <summary>
    /// Centred (Ultralytics <c>LetterBox</c>: resized size rounded, padding split with the −0.1 rounding bias) or
    /// top-left (YOLOX <c>preproc</c>: resized size truncated, no left/top padding).
    /// </summary>
    public static Letterbox Compute(int sourceWidth, int sourceHeight, int inputWidth, int inputHeight, bool centered)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, 1);
        var scale = Math.Min((double)inputWidth / sourceWidth, (double)inputHeight / sourceHeight);
        if (!centered)
        {
            var w = Math.Clamp((int)(sourceWidth * scale), 1, inputWidth);
            var h = Math.Clamp((int)(sourceHeight * scale), 1, inputHeight);
            return new(sourceWidth, sourceHeight, inputWidth, inputHeight, (float)scale, w, h, 0, 0);
        }
        var rw = Math.Clamp((int)Math.Round(sourceWidth * scale, MidpointRounding.ToEven), 1, inputWidth);
        var rh = Math.Clamp((int)Math.Round(sourceHeight * scale, MidpointRounding.ToEven), 1, inputHeight);
        var left = (int)Math.Round((inputWidth - rw) / 2.0 - 0.1, MidpointRounding.ToEven);
        var top = (int)Math.Round((inputHeight - rh) / 2.0 - 0.1, MidpointRounding.ToEven);
        return new(sourceWidth, sourceHeight, inputWidth, inputHeight, (float)scale, rw, rh,
            Math.Max(0, left), Math.Max(0, top));
    }

    /// <summary>Maps a box from model-input pixels back to source pixels, clipped to the source image.</summary>
    public Box ToSource(float x1, float y1, float x2, float y2) => new(
        Math.Clamp((x1 - PadLeft) / Scale, 0, SourceWidth),
        Math.Clamp((y1 - PadTop) / Scale, 0, SourceHeight),
        Math.Clamp((x2 - PadLeft) / Scale, 0, SourceWidth),
        Math.Clamp((y2 - PadTop) / Scale, 0, SourceHeight));

    /// <summary>
    /// Maps a box from source pixels to model-input pixels (the inverse of <see cref="ToSource"/> before clipping).
    /// </summary>
    public Box ToInput(Box source) => new(
        source.X1 * Scale + PadLeft, source.Y1 * Scale + PadTop,
        source.X2 * Scale + PadLeft, source.Y2 * Scale + PadTop);
}
