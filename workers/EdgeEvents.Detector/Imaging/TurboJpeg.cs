using System.Runtime.InteropServices;

namespace EdgeEvents.Detector.Imaging;

/// <summary>
/// The system's libjpeg-turbo through its TurboJPEG 2.x API (Debian <c>libturbojpeg0</c>, Ubuntu <c>libturbojpeg</c>),
/// bound at run time so that it stays optional: SkiaSharp's bundled libjpeg-turbo is built without SIMD, so this one
/// decodes faster (the same pixels bit for bit at full scale; see <see cref="TryDecode"/> for reduced scales) and
/// encodes 7× faster. <see cref="Instance"/> is null where
/// the library is missing; callers then use SkiaSharp. Each call makes its own TurboJPEG handle (they are not
/// thread-safe; one costs microseconds against milliseconds of coding).
/// </summary>
internal sealed unsafe class TurboJpeg
{
    private const int PixelFormatRgba = 7; // TJPF_RGBA
    internal const int Subsampling444 = 0, Subsampling420 = 2, SubsamplingGray = 3; // TJSAMP_*
    private const int ColorspaceRgb = 0, ColorspaceYCbCr = 1, ColorspaceGray = 2; // TJCS_*

    private readonly delegate* unmanaged<nint> _initCompress;
    private readonly delegate* unmanaged<nint> _initDecompress;
    private readonly delegate* unmanaged<nint, byte*, int, int, int, int, byte**, CULong*, int, int, int, int>
        _compress2;
    private readonly delegate* unmanaged<nint, byte*, CULong, int*, int*, int*, int*, int> _decompressHeader3;
    private readonly delegate* unmanaged<nint, byte*, CULong, byte*, int, int, int, int, int, int> _decompress2;
    private readonly delegate* unmanaged<nint, byte*, CULong, byte*, int, int, int, int, int> _decompressToYuv2;
    private readonly delegate* unmanaged<nint, byte*, int, int, byte*, int, int, int, int, int, int> _decodeYuv;
    private readonly delegate* unmanaged<int, int, int, int, CULong> _bufSizeYuv2;
    private readonly delegate* unmanaged<byte*, void> _free;
    private readonly delegate* unmanaged<nint, int> _destroy;
    private readonly delegate* unmanaged<nint, byte*> _errorString;

    private TurboJpeg(nint library)
    {
        _initCompress = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "tjInitCompress");
        _initDecompress = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "tjInitDecompress");
        _compress2 = (delegate* unmanaged<nint, byte*, int, int, int, int, byte**, CULong*, int, int, int, int>)
            NativeLibrary.GetExport(library, "tjCompress2");
        _decompressHeader3 = (delegate* unmanaged<nint, byte*, CULong, int*, int*, int*, int*, int>)
            NativeLibrary.GetExport(library, "tjDecompressHeader3");
        _decompress2 = (delegate* unmanaged<nint, byte*, CULong, byte*, int, int, int, int, int, int>)
            NativeLibrary.GetExport(library, "tjDecompress2");
        _decompressToYuv2 = (delegate* unmanaged<nint, byte*, CULong, byte*, int, int, int, int, int>)
            NativeLibrary.GetExport(library, "tjDecompressToYUV2");
        _decodeYuv = (delegate* unmanaged<nint, byte*, int, int, byte*, int, int, int, int, int, int>)
            NativeLibrary.GetExport(library, "tjDecodeYUV");
        _bufSizeYuv2 = (delegate* unmanaged<int, int, int, int, CULong>)
            NativeLibrary.GetExport(library, "tjBufSizeYUV2");
        _free = (delegate* unmanaged<byte*, void>)NativeLibrary.GetExport(library, "tjFree");
        _destroy = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(library, "tjDestroy");
        _errorString = (delegate* unmanaged<nint, byte*>)NativeLibrary.GetExport(library, "tjGetErrorStr2");
    }

    /// <summary>The loaded library, or null where it is not installed (or older than TurboJPEG 2.0).</summary>
    public static TurboJpeg? Instance { get; } = TryLoad();

    private static TurboJpeg? TryLoad()
    {
        foreach (var name in (string[])["libturbojpeg.so.0", "libturbojpeg.0.dylib", "turbojpeg"])
        {
            if (!NativeLibrary.TryLoad(name, typeof(TurboJpeg).Assembly, null, out var library)) continue;
            try
            {
                return new TurboJpeg(library);
            }
            catch (EntryPointNotFoundException)
            {
                // TurboJPEG 1.x lacks tjGetErrorStr2 and tjDecompressHeader3: SkiaSharp does the work.
            }
        }
        return null;
    }

    /// <summary>
    /// The header of a JPEG whose pixels this library turns into RGB (YCbCr, grayscale or RGB); false for anything else
    /// (CMYK, a header it cannot read), which is left to SkiaSharp.
    /// </summary>
    public bool TryReadHeader(ReadOnlySpan<byte> jpeg, out JpegHeader header)
    {
        var handle = _initDecompress();
        int w = 0, h = 0, subsampling = 0, colorspace = 0;
        try
        {
            fixed (byte* data = jpeg)
            {
                var ok = handle != 0
                    && _decompressHeader3(handle, data, new CULong((nuint)jpeg.Length), &w, &h, &subsampling,
                        &colorspace) == 0;
                header = new JpegHeader(w, h, subsampling);
                return ok && w > 0 && h > 0 && colorspace is ColorspaceYCbCr or ColorspaceGray or ColorspaceRgb;
            }
        }
        finally
        {
            if (handle != 0) _destroy(handle);
        }
    }

    /// <summary>
    /// Decodes <paramref name="jpeg"/> as opaque RGBA at exactly <paramref name="width"/>×<paramref name="height"/>,
    /// one of its n/8 scales (what libjpeg's DCT scaling gives: the size times n/8, rounded up); null on success, else
    /// why not (a truncated file is reported, not decoded with grey rows). At a reduced scale a JPEG with subsampled
    /// chroma is decoded to YCbCr planes in <paramref name="planes"/> (grown as needed) and converted from there:
    /// decoding to RGB directly would upsample its chroma inside the scaled IDCT (12×12 at 6/8), which has no SIMD
    /// version, while the conversion's upsampling does (faster: bench/README.md, "Detector"; the chroma is upsampled by
    /// replication instead, 0.7 levels apart on average).
    /// </summary>
    public string? TryDecode(
        ReadOnlySpan<byte> jpeg, JpegHeader header, Span<byte> rgba, int width, int height, ref byte[] planes)
    {
        if (rgba.Length < width * height * 4) throw new ArgumentException("Pixel buffer too small.", nameof(rgba));
        var handle = _initDecompress();
        if (handle == 0) return "TurboJPEG could not create a decompressor";
        try
        {
            fixed (byte* data = jpeg)
            fixed (byte* pixels = rgba)
            {
                var size = new CULong((nuint)jpeg.Length);
                int result;
                if (width < header.Width && header.ChromaSubsampled)
                {
                    var length = checked((int)_bufSizeYuv2(width, 1, height, header.Subsampling).Value);
                    if (planes.Length < length) planes = GC.AllocateUninitializedArray<byte>(length, pinned: true);
                    fixed (byte* yuv = planes)
                    {
                        result = _decompressToYuv2(handle, data, size, yuv, width, 1, height, 0);
                        if (result == 0)
                        {
                            result = _decodeYuv(handle, yuv, 1, header.Subsampling, pixels, width, 0, height,
                                PixelFormatRgba, 0);
                        }
                    }
                }
                else
                {
                    result = _decompress2(handle, data, size, pixels, width, 0, height, PixelFormatRgba, 0);
                }
                return result == 0
                    ? null
                    : Marshal.PtrToStringUTF8((nint)_errorString(handle)) ?? "unknown TurboJPEG error";
            }
        }
        finally
        {
            _destroy(handle);
        }
    }

    /// <summary>
    /// Baseline 4:2:0 JPEG of <paramref name="height"/> rows of RGBA pixels, <paramref name="rowBytes"/> apart.
    /// </summary>
    public byte[] Encode(byte* pixels, int width, int rowBytes, int height, int quality)
    {
        var handle = _initCompress();
        if (handle == 0) throw new InvalidOperationException("TurboJPEG could not create a compressor.");
        byte* jpeg = null;
        try
        {
            var size = new CULong(0);
            if (_compress2(handle, pixels, width, rowBytes, height, PixelFormatRgba, &jpeg, &size, Subsampling420,
                    quality, 0) != 0)
            {
                var reason = Marshal.PtrToStringUTF8((nint)_errorString(handle));
                throw new InvalidOperationException($"TurboJPEG encoding of a {width}x{height} image failed: {reason}");
            }
            return new ReadOnlySpan<byte>(jpeg, checked((int)size.Value)).ToArray();
        }
        finally
        {
            if (jpeg != null) _free(jpeg);
            _destroy(handle);
        }
    }
}

/// <summary>What a JPEG's header says: its size and TurboJPEG's chroma subsampling code (<c>TJSAMP_*</c>).</summary>
internal readonly record struct JpegHeader(int Width, int Height, int Subsampling)
{
    /// <summary>Whether the chroma planes are smaller than the luma one (not 4:4:4, not grayscale).</summary>
    public bool ChromaSubsampled => Subsampling is not (TurboJpeg.Subsampling444 or TurboJpeg.SubsamplingGray);
}
