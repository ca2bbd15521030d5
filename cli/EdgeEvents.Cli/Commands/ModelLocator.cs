namespace EdgeEvents.Cli.Commands;

/// <summary>A model file the demo found, and where it looked.</summary>
public sealed record FoundModel(string Path, string FoundIn);

/// <summary>
/// Finds model files for the demo: the configured path first, then a <c>models/</c> folder (in the working directory
/// or above it), then the <c>shared/models</c> test-data folder beside the repository.
/// </summary>
public static class ModelLocator
{
    /// <summary>
    /// Detector models, most preferred first: YOLOv8/YOLO11 before YOLOX, full precision before int8.
    /// </summary>
    public static readonly string[] DetectorPatterns =
        ["yolov8n.onnx", "yolo11n.onnx", "yolov8*.onnx", "yolo11*.onnx", "yolox*.onnx", "*.onnx"];
    public static readonly string[] LlmPatterns = ["*.gguf"];

    public static FoundModel? Find(string? configured, string[] patterns)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return File.Exists(configured) ? new FoundModel(Path.GetFullPath(configured), "configuration") : null;
        foreach (var (folder, label) in SearchFolders())
            foreach (var pattern in patterns)
            {
                var match = Directory.EnumerateFiles(folder, pattern).Order(StringComparer.Ordinal).FirstOrDefault();
                if (match is not null) return new FoundModel(match, label);
            }
        return null;
    }

    /// <summary>The folders searched, in order, for the help text when nothing is found.</summary>
    public static IEnumerable<(string Folder, string Label)> SearchFolders()
    {
        var seen = new HashSet<string>();
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var models = Path.Combine(dir.FullName, "models");
                if (Directory.Exists(models) && seen.Add(models)) yield return (models, "models/");
            }
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var shared = Path.Combine(dir.FullName, "shared", "models");
                if (Directory.Exists(shared) && seen.Add(shared)) yield return (shared, "../shared/models");
            }
    }

    public static string MissingHelp(string what, string configKey, string option, string example) => $"""
        No {what} found. Looked at: configuration ({configKey} / {option}), then a models/ folder in or above the
        working directory, then ../shared/models beside the repository.
        Put one there, for example:
          mkdir -p models && cp /path/to/{example} models/
        or pass {option} /path/to/{example}.
        """;
}
