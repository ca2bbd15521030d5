using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Camera;

/// <summary>One image ready to publish.</summary>
public sealed record SourceImage(string Name, FrameEncoding Encoding, int Width, int Height, byte[] Data);

/// <summary>An image file the camera skipped, and why.</summary>
public sealed record UnreadableImage(string Path, string Reason);

/// <summary>Where a simulated camera gets its images.</summary>
public abstract class FrameSource
{
    /// <summary>
    /// The image for frame number <paramref name="index"/> (0-based), or null when a non-looping source is exhausted.
    /// </summary>
    public abstract SourceImage? Get(long index, bool loop);

    /// <summary>Files of the source that could not be read as JPEG or PNG; the camera publishes the others.</summary>
    public virtual IReadOnlyList<UnreadableImage> Unreadable => [];

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
            if (files.Count == 0)
                throw new FileNotFoundException($"No .jpg, .jpeg or .png images in camera source folder '{source}'.");
            return Readable(new FileSource(files), source);
        }
        if (File.Exists(source)) return Readable(new FileSource([source]), source);
        throw new FileNotFoundException(
            $"Camera source '{source}' is neither a folder, an image file nor 'synthetic'.", source);
    }

    /// <summary>A source with nothing to publish is a configuration error, reported at start.</summary>
    private static FileSource Readable(FileSource files, string source) => files.Images.Count > 0 ? files
        : throw new InvalidDataException($"No image of camera source '{source}' could be read: "
            + string.Join("; ", files.Unreadable.Select(u => $"{u.Path}: {u.Reason}")));
}

/// <summary>Image files, loaded once and published in order; files that cannot be read are skipped.</summary>
public sealed class FileSource : FrameSource
{
    private readonly List<SourceImage> _images = [];
    private readonly List<UnreadableImage> _unreadable = [];

    public FileSource(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            try
            {
                _images.Add(Load(file));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                _unreadable.Add(new UnreadableImage(file, ex.Message));
            }
        }
    }

    public IReadOnlyList<SourceImage> Images => _images;

    public override IReadOnlyList<UnreadableImage> Unreadable => _unreadable;

    public override SourceImage? Get(long index, bool loop) =>
        index < _images.Count ? _images[(int)index] : loop ? _images[(int)(index % _images.Count)] : null;

    private static SourceImage Load(string path)
    {
        var data = File.ReadAllBytes(path);
        var encoding = Contracts.Serialization.FramePayload.DetectImage(data)
            ?? throw new InvalidDataException("Not a JPEG or PNG file.");
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
