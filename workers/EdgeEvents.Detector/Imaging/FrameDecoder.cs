using System.Buffers;
using EdgeEvents.Contracts.Messages;
using SkiaSharp;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// Decodes JPEG frames with the system's libjpeg-turbo where installed (<see cref="TurboJpeg"/>), other JPEGs and PNG
/// with SkiaSharp, into one RGBA buffer that is allocated once and grows only for larger images (up to the pixel
/// limit). Large JPEGs are decoded at the smallest reduced DCT scale (shrink-on-load, n/8) that keeps 1.2× the
/// letterboxed size, which halves decode time for 1080p frames, unless full-scale decoding is asked for (the reference
/// preprocessing, as OpenCV's <c>imread</c> decodes). Not thread-safe: one per pipeline.
/// </summary>
internal sealed unsafe class FrameDecoder
{
    // Shrink-on-load only while this much resolution remains for the resample to filter.
    private const float MinShrinkHeadroom = 1.2f;

    private readonly InputFormat _format;
    private readonly long _maxPixels;
    private readonly TurboJpeg? _turbo;
    private readonly bool _fullScale;
    private byte[] _pixels = [];
    // TurboJPEG's YCbCr planes of a JPEG decoded at a reduced scale.
    private byte[] _planes = [];
    // What the last Decode put into _pixels; null after Forget or a failed decode.
    private (int Width, int Height, int FullWidth, int FullHeight)? _decoded;

    public FrameDecoder(InputFormat format, long maxPixels, bool turboJpeg, bool fullScale)
    {
        _fullScale = fullScale;
        _format = format;
        _maxPixels = maxPixels;
        _turbo = turboJpeg ? TurboJpeg.Instance : null;
    }

    /// <summary>The RGBA pixels of the last successful <see cref="Decode"/>.</summary>
    public ReadOnlySpan<byte> Pixels =>
        _decoded is { } image ? _pixels.AsSpan(0, image.Width * image.Height * 4) : default;

    /// <summary>Drops what the last decode left (the next frame is raw, or its decode fails).</summary>
    public void Forget() => _decoded = null;

    /// <summary>
    /// A copy of the pixels the last <see cref="Decode"/> produced (null after <see cref="Forget"/>), so a snapshot of
    /// that frame needs no second decode.
    /// </summary>
    public DecodedImage? CopyDecoded()
    {
        if (_decoded is not { } image) return null;
        var length = image.Width * image.Height * 4;
        var rgba = ArrayPool<byte>.Shared.Rent(length);
        _pixels.AsSpan(0, length).CopyTo(rgba);
        return new DecodedImage(rgba, image.Width, image.Height, image.FullWidth, image.FullHeight);
    }

    /// <summary>
    /// Decodes into the RGBA buffer; Width/Height are the decoded size, FullWidth/FullHeight the image's own.
    /// </summary>
    /// <exception cref="FrameDecodeException">The frame cannot be decoded.</exception>
    public (int Width, int Height, int FullWidth, int FullHeight) Decode(Frame frame)
    {
        _decoded = null;
        var image = DecodeInto(frame);
        _decoded = image;
        return image;
    }

    private (int Width, int Height, int FullWidth, int FullHeight) DecodeInto(Frame frame)
    {
        // Anything TurboJPEG cannot read or turn into RGB (CMYK) goes to SkiaSharp, which also words the errors.
        if (frame.Encoding == FrameEncoding.Jpeg && _turbo is { } turbo
            && turbo.TryReadHeader(frame.Data, out var header))
        {
            var (width, height) = (header.Width, header.Height);
            CheckSize(width, height);
            var size = ShrinkOnLoad(width, height, jpeg: true);
            PinnedBuffer.EnsureCapacity(ref _pixels, (long)size.Width * size.Height * 4);
            if (turbo.TryDecode(frame.Data, header, _pixels, size.Width, size.Height, ref _planes) is { } error)
            {
                throw new FrameDecodeException(ErrorKinds.DecodeFailed,
                    $"JPEG image {width}x{height} is truncated or corrupt ({error}).");
            }
            return (size.Width, size.Height, width, height);
        }
        fixed (byte* data = frame.Data)
        {
            using var skData = SKData.Create((IntPtr)data, frame.Data.Length);
            using var codec = SKCodec.Create(skData)
                ?? throw new FrameDecodeException(ErrorKinds.DecodeFailed,
                    $"{frame.Encoding} data of {frame.Data.Length} bytes is not a decodable image.");
            var full = codec.Info.Size;
            CheckSize(full.Width, full.Height);
            var size = ShrinkOnLoad(full.Width, full.Height, codec.EncodedFormat == SKEncodedImageFormat.Jpeg);
            // Unpremultiplied: like OpenCV, the colour channels are used as stored and alpha is ignored.
            var alpha = codec.Info.AlphaType == SKAlphaType.Opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul;
            var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, alpha);
            PinnedBuffer.EnsureCapacity(ref _pixels, info.BytesSize64);
            SKCodecResult result;
            fixed (byte* pixels = _pixels) result = codec.GetPixels(info, (IntPtr)pixels);
            return result switch
            {
                SKCodecResult.Success => (size.Width, size.Height, full.Width, full.Height),
                SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => throw new FrameDecodeException(
                    ErrorKinds.DecodeFailed,
                    $"{frame.Encoding} image {full.Width}x{full.Height} is truncated or corrupt ({result})."),
                _ => throw new FrameDecodeException(ErrorKinds.DecodeFailed,
                    $"{frame.Encoding} image {full.Width}x{full.Height} could not be decoded ({result})."),
            };
        }
    }

    /// <summary>
    /// For a JPEG not decoded at full scale, the smallest DCT scale (<see cref="JpegScale"/>) that leaves
    /// <see cref="MinShrinkHeadroom"/> over the letterboxed size; other images decode in full.
    /// </summary>
    private (int Width, int Height) ShrinkOnLoad(int width, int height, bool jpeg)
    {
        var box = Letterbox.Compute(width, height, _format.Width, _format.Height, _format.Centered);
        if (_fullScale || !jpeg || box.Scale * MinShrinkHeadroom >= 1) return (width, height);
        for (var eighths = 1; eighths < 8; eighths++)
        {
            var scaled = JpegScale.Of(width, height, eighths);
            if (scaled.Width >= box.ResizedWidth * MinShrinkHeadroom
                && scaled.Height >= box.ResizedHeight * MinShrinkHeadroom)
            {
                return scaled;
            }
        }
        return (width, height);
    }

    /// <exception cref="FrameDecodeException">The image is empty or larger than the pixel limit.</exception>
    public void CheckSize(int width, int height)
    {
        if (width <= 0 || height <= 0 || (long)width * height > _maxPixels)
        {
            throw new FrameDecodeException(ErrorKinds.InvalidFrame,
                $"Image of {width}x{height} pixels exceeds the limit of {_maxPixels} pixels.");
        }
    }
}
