using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeEvents.Detector.Postprocessing;

/// <summary>Class id → label: from the model's <c>names</c> metadata, a labels file, or COCO-80.</summary>
public static partial class ClassNames
{
    /// <summary>The 80 COCO classes in the order YOLO models trained on COCO use.</summary>
    public static IReadOnlyList<string> Coco80 => Contracts.Messages.CocoLabels.All;

    /// <summary>
    /// Parses the Python-dict text Ultralytics stores as <c>names</c>, e.g. <c>{0: 'person', 1: "o'clock"}</c>.
    /// Returns null when the text holds no entry.
    /// </summary>
    public static IReadOnlyDictionary<int, string>? ParsePythonDict(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var names = new Dictionary<int, string>();
        foreach (Match m in EntryPattern().Matches(text))
        {
            var id = int.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture);
            var raw = m.Groups["single"].Success ? m.Groups["single"].Value : m.Groups["double"].Value;
            names[id] = Regex.Unescape(raw);
        }
        return names.Count == 0 ? null : names;
    }

    /// <summary>
    /// Labels for <paramref name="classCount"/> classes: from metadata names, else the labels file, else COCO-80;
    /// missing ids become <c>class{id}</c>.
    /// </summary>
    public static string[] Resolve(int classCount, string? metadataNames, string? labelsPath, out string source)
    {
        IReadOnlyDictionary<int, string>? names = ParsePythonDict(metadataNames);
        source = "model metadata";
        if (names is null && !string.IsNullOrEmpty(labelsPath))
        {
            if (!File.Exists(labelsPath))
                throw new FileNotFoundException($"Labels file not found: {labelsPath}", labelsPath);
            names = File.ReadAllLines(labelsPath).Select(l => l.Trim()).Where(l => l.Length > 0)
                .Select((label, i) => (label, i)).ToDictionary(x => x.i, x => x.label);
            source = $"labels file {labelsPath}";
        }
        if (names is null)
        {
            names = Coco80.Select((label, i) => (label, i)).ToDictionary(x => x.i, x => x.label);
            source = "COCO-80 default";
        }
        var labels = new string[classCount];
        for (var i = 0; i < classCount; i++)
            labels[i] = names.TryGetValue(i, out var label) ? label : $"class{i}";
        return labels;
    }

    [GeneratedRegex("""(?<id>\d+)\s*:\s*(?:'(?<single>(?:[^'\\]|\\.)*)'|"(?<double>(?:[^"\\]|\\.)*)")""")]
    private static partial Regex EntryPattern();
}
