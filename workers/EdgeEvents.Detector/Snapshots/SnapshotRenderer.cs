using System.Globalization;
using System.Runtime.InteropServices;
using EdgeEvents.Contracts.Messages;
using EdgeEvents.Detector.Imaging;
using SkiaSharp;

namespace EdgeEvents.Detector.Snapshots;

/// <summary>
/// Draws a frame's detections onto the frame and encodes it as JPEG: a box per detection in its class colour and a
/// "label 0.91" tag on a filled background above it (inside the box when there is no room above). Line width and text
/// size follow the image's shorter side, so tags read the same at 640p and 1080p. Frames wider than
/// <c>maxWidth</c> are scaled down: a JPEG is decoded at the largest n/8 DCT scale that fits (libjpeg-turbo's
/// shrink-on-load, much cheaper than decoding in full and resampling), other images are resampled. Pixels the
/// pipeline already decoded are used instead of decoding again when they are at least that size. JPEG/PNG and raw
/// rgb24/bgr24 frames are accepted; <see cref="JpegEncoder"/> encodes.
/// </summary>
internal sealed class SnapshotRenderer(int quality, int maxWidth)
{
    // Ultralytics' 20-colour palette, indexed by class id, so a class has the same colour as in their tools.
    private static readonly SKColor[] Palette = Array.ConvertAll(
        ["FF3838", "FF9D97", "FF701F", "FFB21D", "CFD231", "48F90A", "92CC17", "3DDB86", "1A9334", "00D4BB",
         "2C99A8", "00C2FF", "344593", "6473FF", "0018EC", "8438FF", "520085", "CB38FF", "FF95C8", "FF37C7"],
        hex => SKColor.Parse(hex));

    /// <summary>Colour of a class's boxes and tags.</summary>
    public static SKColor ColorOf(int classId) => Palette[(classId % Palette.Length + Palette.Length) % Palette.Length];

    // TurboJPEG's YCbCr planes of a JPEG decoded at a reduced scale; one renderer draws one snapshot at a time.
    private byte[] _planes = [];

    /// <summary>The annotated frame as JPEG bytes.</summary>
    /// <exception cref="InvalidDataException">The frame cannot be decoded.</exception>
    public byte[] Render(Frame frame, DetectionSet detections) => Render(frame, detections, null, out _);

    /// <summary>The annotated frame as JPEG bytes, from <paramref name="decoded"/> when that is large enough.</summary>
    /// <param name="decoded">The frame's pixels as the pipeline decoded them, if it kept them.</param>
    /// <param name="decodedAgain">Whether the frame had to be decoded (raw frames never are).</param>
    /// <exception cref="InvalidDataException">The frame cannot be decoded.</exception>
    public byte[] Render(Frame frame, DetectionSet detections, DecodedImage? decoded, out bool decodedAgain)
    {
        var reused = decoded is null ? null : FromDecoded(frame, decoded);
        decodedAgain = reused is null && frame.Encoding is FrameEncoding.Jpeg or FrameEncoding.Png;
        using var bitmap = reused ?? Decode(frame);
        using (var canvas = new SKCanvas(bitmap))
        {
            // Boxes are in source pixels; the bitmap may be scaled down.
            var sourceWidth = detections.ImageWidth > 0 ? detections.ImageWidth : bitmap.Width;
            Draw(canvas, bitmap.Width, bitmap.Height, (float)bitmap.Width / sourceWidth, detections.Detections);
        }
        return JpegEncoder.Encode(bitmap, quality);
    }

    private static void Draw(SKCanvas canvas, int width, int height, float scale, IReadOnlyList<Detection> detections)
    {
        var unit = Math.Max(2, (int)Math.Round(Math.Min(width, height) / 240.0));
        var pad = unit;
        var tagHeight = PixelFont.LineHeight(unit) + 2 * pad;
        using var stroke = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = unit, IsAntialias = false };
        using var fill = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = false };
        // Lowest confidence first, so the most confident tags end up on top where they overlap.
        foreach (var d in detections.OrderBy(d => d.Confidence))
        {
            var color = ColorOf(d.ClassId);
            var box = new SKRect(d.Box.X1 * scale, d.Box.Y1 * scale, d.Box.X2 * scale, d.Box.Y2 * scale);
            stroke.Color = color;
            canvas.DrawRect(box, stroke);

            var text = $"{d.Label} {d.Confidence.ToString("0.00", CultureInfo.InvariantCulture)}";
            var tagWidth = PixelFont.Measure(text, unit) + 2 * pad;
            var left = Math.Clamp(box.Left - unit / 2f, 0, Math.Max(0, width - tagWidth));
            var top = box.Top - unit / 2f - tagHeight >= 0 ? box.Top - unit / 2f - tagHeight : Math.Max(0, box.Top);
            fill.Color = color;
            canvas.DrawRect(SKRect.Create(left, top, tagWidth, tagHeight), fill);
            fill.Color = Luminance(color) > 150 ? SKColors.Black : SKColors.White;
            PixelFont.Draw(canvas, text, left + pad, top + pad, unit, fill);
        }
    }

    private static float Luminance(SKColor c) => 0.299f * c.Red + 0.587f * c.Green + 0.114f * c.Blue;

    /// <summary>The frame as an opaque RGBA bitmap, at most <c>maxWidth</c> wide.</summary>
    private SKBitmap Decode(Frame frame) => frame.Encoding switch
    {
        FrameEncoding.Jpeg or FrameEncoding.Png => DecodeImage(frame.Data, frame.Encoding == FrameEncoding.Jpeg),
        FrameEncoding.Rgb24 or FrameEncoding.Bgr24 => FitWidth(FromRaw(frame)),
        _ => throw new InvalidDataException($"Unsupported frame encoding {frame.Encoding}."),
    };

    private unsafe SKBitmap DecodeImage(byte[] bytes, bool jpeg)
    {
        // The pipeline's decoder where it can (the same pixels as the frame's tensor came from), else SkiaSharp.
        if (jpeg && TurboJpeg.Instance is { } turbo && turbo.TryReadHeader(bytes, out var header))
        {
            var size = DecodedSize(header.Width, header.Height, jpeg: true);
            var bitmap = new SKBitmap(
                new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = new Span<byte>((void*)bitmap.GetPixels(), size.Width * size.Height * 4);
            if (turbo.TryDecode(bytes, header, pixels, size.Width, size.Height, ref _planes) is { } error)
            {
                bitmap.Dispose();
                throw new InvalidDataException(
                    $"JPEG image {header.Width}x{header.Height} could not be decoded ({error}).");
            }
            return FitWidth(bitmap);
        }
        fixed (byte* pointer = bytes)
        {
            // Wraps the received bytes without copying them; the codec is done with them before the block ends.
            using var data = SKData.Create((IntPtr)pointer, bytes.Length);
            using var codec = SKCodec.Create(data)
                ?? throw new InvalidDataException($"{bytes.Length} bytes are not a decodable image.");
            var full = codec.Info.Size;
            // Other formats decode in full and are resampled by FitWidth.
            var decoded = DecodedSize(full.Width, full.Height, codec.EncodedFormat == SKEncodedImageFormat.Jpeg);
            var bitmap = new SKBitmap(
                new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
            {
                bitmap.Dispose();
                throw new InvalidDataException($"Image {full.Width}x{full.Height} could not be decoded ({result}).");
            }
            return FitWidth(bitmap);
        }
    }

    /// <summary>
    /// <paramref name="decoded"/> at the size <see cref="Decode"/> gives this frame, or null when the pipeline decoded
    /// it smaller than that (a full-size snapshot of a frame decoded at a reduced DCT scale).
    /// </summary>
    private SKBitmap? FromDecoded(Frame frame, DecodedImage decoded)
    {
        var (width, height) = SnapshotSize(decoded.FullWidth, decoded.FullHeight, frame.Encoding == FrameEncoding.Jpeg);
        if (decoded.Width < width || decoded.Height < height) return null;
        var bitmap = new SKBitmap(
            new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Marshal.Copy(decoded.Rgba, 0, bitmap.GetPixels(), decoded.Width * decoded.Height * 4);
        return Resized(bitmap, width, height);
    }

    /// <summary>
    /// What <see cref="Decode"/> gives a <paramref name="width"/>×<paramref name="height"/> image:
    /// <see cref="DecodedSize"/>, then <see cref="FitWidth"/>.
    /// </summary>
    private (int Width, int Height) SnapshotSize(int width, int height, bool jpeg)
    {
        var (w, h) = DecodedSize(width, height, jpeg);
        return maxWidth <= 0 || w <= maxWidth ? (w, h) : (maxWidth, FittedHeight(w, h));
    }

    /// <summary>
    /// The size <see cref="DecodeImage"/> decodes to: a JPEG's largest n/8 scale at most <c>maxWidth</c> wide, else the
    /// full size.
    /// </summary>
    private (int Width, int Height) DecodedSize(int width, int height, bool jpeg)
    {
        var (w, h) = (width, height);
        for (var n = 7; jpeg && n >= 1 && maxWidth > 0 && w > maxWidth; n--) (w, h) = JpegScale.Of(width, height, n);
        return (w, h);
    }

    private int FittedHeight(int width, int height) => Math.Max(1, (int)Math.Round((double)height * maxWidth / width));

    private static unsafe SKBitmap FromRaw(Frame frame)
    {
        var (w, h) = (frame.Width, frame.Height);
        if (w <= 0 || h <= 0 || (long)w * h * 3 != frame.Data.Length)
        {
            throw new InvalidDataException(
                $"Raw {frame.Encoding} frame is {frame.Data.Length} bytes; {w}x{h}x3 needs {(long)w * h * 3}.");
        }
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var (r, b) = frame.Encoding == FrameEncoding.Bgr24 ? (2, 0) : (0, 2);
        var target = new Span<byte>((void*)bitmap.GetPixels(), w * h * 4);
        var source = frame.Data.AsSpan();
        for (int i = 0, j = 0; j < target.Length; i += 3, j += 4)
        {
            target[j] = source[i + r];
            target[j + 1] = source[i + 1];
            target[j + 2] = source[i + b];
            target[j + 3] = 255;
        }
        return bitmap;
    }

    /// <summary>
    /// <paramref name="bitmap"/> itself when it is at most <c>maxWidth</c> wide, else a copy scaled to that width (and
    /// the original disposed).
    /// </summary>
    private SKBitmap FitWidth(SKBitmap bitmap) =>
        maxWidth <= 0 || bitmap.Width <= maxWidth
            ? bitmap
            : Resized(bitmap, maxWidth, FittedHeight(bitmap.Width, bitmap.Height));

    /// <summary>
    /// <paramref name="bitmap"/> itself when it has that size, else a resized copy (and the original disposed).
    /// </summary>
    private static SKBitmap Resized(SKBitmap bitmap, int width, int height)
    {
        if (bitmap.Width == width && bitmap.Height == height) return bitmap;
        using (bitmap)
        {
            var resized = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            // Mipmaps (costly: 4x the resample here) only where plain bilinear would alias, beyond halving.
            var mipmaps = bitmap.Width > 2 * width ? SKMipmapMode.Linear : SKMipmapMode.None;
            bitmap.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Linear, mipmaps));
            return resized;
        }
    }
}
