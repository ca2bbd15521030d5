using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Camera;

/// <summary>One image ready to publish.</summary>
public sealed record SourceImage(string Name, FrameEncoding Encoding, int Width, int Height, byte[] Data);

/// <summary>Where a simulated camera gets its images.</summary>
public abstract class FrameSource
{
    /// <summary>The image for frame number <paramref name="index"/> (0-based), or null when a non-looping source is exhausted.</summary>
    public abstract SourceImage? Get(long index, bool loop);

    public static FrameSource Open(string source, CameraOptions options)
    {
        if (source.Equals("synthetic", StringComparison.OrdinalIgnoreCase))
            return new SyntheticSource(options.SyntheticWidth, options.SyntheticHeight);
        if (Directory.Exists(source))
        {
            var files = Directory.EnumerateFiles(source)
                .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png")
                .Order(StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0) throw new FileNotFoundException($"No .jpg, .jpeg or .png images in camera source folder '{source}'.");
            return new FileSource(files);
        }
        if (File.Exists(source)) return new FileSource([source]);
        throw new FileNotFoundException($"Camera source '{source}' is neither a folder, an image file nor 'synthetic'.", source);
    }
}

/// <summary>Image files, loaded once and published in order.</summary>
public sealed class FileSource : FrameSource
{
    private readonly List<SourceImage> _images;

    public FileSource(IEnumerable<string> files)
    {
        _images = files.Select(Load).ToList();
    }

    public IReadOnlyList<SourceImage> Images => _images;

    public override SourceImage? Get(long index, bool loop) =>
        index < _images.Count ? _images[(int)index] : loop ? _images[(int)(index % _images.Count)] : null;

    private static SourceImage Load(string path)
    {
        var data = File.ReadAllBytes(path);
        var encoding = Contracts.Serialization.FramePayload.DetectImage(data)
            ?? throw new InvalidDataException($"'{path}' is not a JPEG or PNG file.");
        var (width, height) = ImageHeader.TryReadSize(data) ?? (0, 0);
        return new SourceImage(Path.GetFileName(path), encoding, width, height, data);
    }
}

/// <summary>Raw RGB frames with two boxes moving across a grey background: no files needed.</summary>
public sealed class SyntheticSource(int width, int height) : FrameSource
{
    public override SourceImage? Get(long index, bool loop)
    {
        var data = new byte[width * height * 3];
        data.AsSpan().Fill(114);
        var size = Math.Max(8, Math.Min(width, height) / 5);
        DrawBox(data, (int)(index * 7 % Math.Max(1, width - size)), height / 4, size, (230, 40, 40));
        DrawBox(data, (int)(width - size - index * 5 % Math.Max(1, width - size)), height / 2, size, (40, 40, 230));
        return new SourceImage($"synthetic-{index}", FrameEncoding.Rgb24, width, height, data);
    }

    private void DrawBox(byte[] data, int x0, int y0, int size, (byte R, byte G, byte B) color)
    {
        for (var y = y0; y < Math.Min(height, y0 + size); y++)
        for (var x = Math.Max(0, x0); x < Math.Min(width, x0 + size); x++)
        {
            var i = (y * width + x) * 3;
            data[i] = color.R; data[i + 1] = color.G; data[i + 2] = color.B;
        }
    }
}
