namespace EdgeEvents.Detector.Imaging;

/// <summary>How a model wants its input tensor filled.</summary>
/// <param name="Width">Model input width.</param>
/// <param name="Height">Model input height.</param>
/// <param name="Bgr">Channel planes in B, G, R order (YOLOX) rather than R, G, B (YOLOv8).</param>
/// <param name="PixelDivisor">Divisor from 0..255 bytes to tensor values (255 for YOLOv8, 1 for YOLOX).</param>
/// <param name="Centered">Centred letterbox (YOLOv8) or top-left (YOLOX).</param>
public sealed record InputFormat(int Width, int Height, bool Bgr, float PixelDivisor, bool Centered)
{
    /// <summary>Floats in one CHW image.</summary>
    public int TensorLength => 3 * Width * Height;
}
