using EdgeEvents.Contracts.Messages;

namespace EdgeEvents.Detector.Evaluation;

/// <summary>The JPEG and PNG files of a folder as frames, in name order.</summary>
public static class EvaluationImages
{
    public static IReadOnlyList<(string Name, Frame Frame)> Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Image folder not found: {Path.GetFullPath(folder)}.");
        var images = new List<(string, Frame)>();
        foreach (var path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            FrameEncoding? encoding = Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".jpg" or ".jpeg" => FrameEncoding.Jpeg,
                ".png" => FrameEncoding.Png,
                _ => null,
            };
            if (encoding is { } e)
            {
                var frame = new Frame { Camera = "eval", Encoding = e, Data = File.ReadAllBytes(path) };
                images.Add((Path.GetFileName(path), frame));
            }
        }
        if (images.Count == 0)
            throw new InvalidDataException($"No .jpg, .jpeg or .png images in {Path.GetFullPath(folder)}.");
        return images;
    }
}
