using System.Buffers;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// RGBA pixels of a decoded JPEG/PNG frame (<paramref name="Width"/>×<paramref name="Height"/>, possibly a reduced
/// n/8 DCT scale of the image's own <paramref name="FullWidth"/>×<paramref name="FullHeight"/>), in a buffer rented
/// from the shared pool (it may be longer): whoever is left holding the image calls <see cref="Release"/>.
/// </summary>
public sealed record DecodedImage(byte[] Rgba, int Width, int Height, int FullWidth, int FullHeight)
{
    /// <summary>Gives the buffer back to the pool; the image must not be used afterwards.</summary>
    public void Release() => ArrayPool<byte>.Shared.Return(Rgba);
}
