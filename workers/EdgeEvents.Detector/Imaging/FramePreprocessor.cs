using System.Diagnostics;
using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// Turns a frame into one CHW float tensor slot: decodes it (<see cref="FrameDecoder"/>; raw RGB/BGR is used as is) and
/// letterboxes it with the mode's resampler (<see cref="PreprocessMode"/>) written straight into the channel planes.
/// Not thread-safe: one per pipeline.
/// </summary>
public sealed class FramePreprocessor
{
    private readonly InputFormat _format;
    private readonly FrameDecoder _decoder;
    private readonly IResampler _resampler;

    /// <param name="mode">Reference (OpenCV's full-scale decode and linear resize, default) or Fast.</param>
    /// <param name="turboJpeg">Decode JPEGs with the system's libjpeg-turbo when it is installed (faster; the same
    /// pixels as SkiaSharp at full scale, the chroma replicated rather than IDCT-upsampled at reduced ones); false
    /// always uses SkiaSharp.</param>
    public FramePreprocessor(
        InputFormat format, long maxPixels, PreprocessMode mode = PreprocessMode.Reference, bool turboJpeg = true)
    {
        _format = format;
        Mode = mode;
        _decoder = new FrameDecoder(format, maxPixels, turboJpeg, fullScale: mode == PreprocessMode.Reference);
        _resampler = mode == PreprocessMode.Reference ? new LinearResampler(format) : new BicubicResampler(format);
    }

    public InputFormat Format => _format;
    public PreprocessMode Mode { get; }

    /// <summary>
    /// Fills <paramref name="tensor"/> (one CHW image) from <paramref name="frame"/> and returns where the image
    /// landed.
    /// </summary>
    /// <exception cref="FrameDecodeException">The frame cannot be decoded.</exception>
    public Letterbox Prepare(Frame frame, Span<float> tensor, out PreprocessTimings timings)
    {
        if (tensor.Length != _format.TensorLength)
        {
            throw new ArgumentException(
                $"Tensor slot has {tensor.Length} floats; {_format.TensorLength} needed.", nameof(tensor));
        }
        var start = Stopwatch.GetTimestamp();
        Letterbox box;
        long decoded;
        _decoder.Forget();
        if (frame.Encoding is FrameEncoding.Jpeg or FrameEncoding.Png)
        {
            var image = _decoder.Decode(frame);
            decoded = Stopwatch.GetTimestamp();
            box = Letterbox.Compute(image.FullWidth, image.FullHeight, _format.Width, _format.Height, _format.Centered);
            _resampler.Resample(_decoder.Pixels, image.Width, image.Height, 4, sourceBgr: false, box, tensor);
        }
        else if (frame.Encoding is FrameEncoding.Rgb24 or FrameEncoding.Bgr24)
        {
            var (w, h) = (frame.Width, frame.Height);
            if (w <= 0 || h <= 0 || (long)w * h * 3 != frame.Data.Length)
            {
                throw new FrameDecodeException(ErrorKinds.InvalidFrame,
                    $"Raw {frame.Encoding} frame is {frame.Data.Length} bytes; {w}x{h}x3 needs {(long)w * h * 3}.");
            }
            _decoder.CheckSize(w, h);
            decoded = Stopwatch.GetTimestamp();
            box = Letterbox.Compute(w, h, _format.Width, _format.Height, _format.Centered);
            _resampler.Resample(frame.Data, w, h, 3, sourceBgr: frame.Encoding == FrameEncoding.Bgr24, box, tensor);
        }
        else
        {
            throw new FrameDecodeException(ErrorKinds.InvalidFrame, $"Unsupported frame encoding {frame.Encoding}.");
        }
        var end = Stopwatch.GetTimestamp();
        timings = new(Stopwatch.GetElapsedTime(start, decoded).TotalMilliseconds,
            Stopwatch.GetElapsedTime(decoded, end).TotalMilliseconds);
        return box;
    }

    /// <summary>
    /// A copy of the pixels the last <see cref="Prepare"/> decoded (null after a raw frame or a failed decode), so a
    /// snapshot of that frame needs no second decode.
    /// </summary>
    public DecodedImage? CopyDecoded() => _decoder.CopyDecoded();
}
