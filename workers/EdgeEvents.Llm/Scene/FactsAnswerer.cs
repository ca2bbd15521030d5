using System.Text;

namespace EdgeEvents.Llm.Scene;

/// <summary>
/// Answers, from the scene facts alone and deterministically, the questions the facts can answer: counts ("how many
/// people"), presence ("is there a car", "any dogs?") and "what do you see". Anything else returns null and is left to
/// the model. The answer is useful even when the model is small, slow or failing.
/// </summary>
internal static class FactsAnswerer
{
    private static readonly string[][] SeePhrases =
    [
        ["what", "do", "you", "see"], ["what", "can", "you", "see"], ["what", "is", "there"], ["what", "s", "there"],
        ["what", "is", "in"], ["what", "s", "in"], ["what", "is", "on"], ["what", "s", "on"],
        ["what", "is", "happening"], ["what", "s", "happening"], ["what", "is", "visible"],
        ["what", "do", "the", "cameras", "show"], ["what", "does", "the", "camera", "show"],
        ["describe", "the", "scene"], ["describe"],
    ];

    private static readonly string[][] PresencePhrases =
    [
        ["is", "there"], ["are", "there"], ["is", "anyone"], ["is", "anybody"], ["is", "someone"], ["is", "somebody"],
        ["do", "you", "see"], ["can", "you", "see"], ["any"], ["anyone"], ["anybody"], ["someone"], ["somebody"],
    ];

    /// <summary>
    /// How far after "how many" / "is there" the object may be named ("how many red cars", "is there a big dog").
    /// </summary>
    private const int Window = 4;

    /// <summary>
    /// The facts answer for <paramref name="question"/> over <paramref name="cameras"/> (already limited to the
    /// question's scope), or null when the facts do not answer it. <paramref name="scope"/> names the camera the
    /// question was limited to, for the "no data" answer.
    /// </summary>
    public static string? Answer(string question, IReadOnlyList<CameraSnapshot> cameras, string? scope)
    {
        var words = Words(question);
        var labelsInScene = cameras.SelectMany(c => c.Counts.Keys).Distinct().ToList();

        var howMany = IndexOf(words, ["how", "many"]);
        if (howMany >= 0 && Labels.Find(words, howMany + 2, Window, labelsInScene) is { } counted)
            return NoData(cameras, scope) ?? CountAnswer(counted, cameras);

        if (SeePhrases.Any(p => IndexOf(words, p) >= 0))
            return NoData(cameras, scope) ?? SeeAnswer(cameras);

        foreach (var phrase in PresencePhrases)
        {
            var at = IndexOf(words, phrase);
            if (at < 0) continue;
            // "is anyone there": the presence word itself names the object.
            var found = Labels.Find(words, at + phrase.Length, Window, labelsInScene)
                ?? Labels.Find(words, at, phrase.Length, labelsInScene);
            if (found is { } present) return NoData(cameras, scope) ?? PresenceAnswer(present, cameras);
        }
        return null;
    }

    /// <summary>
    /// The camera a question names in its text ("how many cars on cam2?"), if it names exactly one known camera.
    /// </summary>
    public static string? CameraMentioned(string question, IEnumerable<string> cameras) =>
        CamerasMentioned(question, cameras) is [var one] ? one : null;

    /// <summary>The known cameras a question names in its text.</summary>
    public static IReadOnlyList<string> CamerasMentioned(string question, IEnumerable<string> cameras)
    {
        var words = Words(question);
        return cameras.Where(c => words.Contains(c.ToLowerInvariant())).ToList();
    }

    private static string? NoData(IReadOnlyList<CameraSnapshot> cameras, string? scope) =>
        cameras.Count > 0 ? null
        : scope is null ? "I have no scene data yet."
        : $"I have no scene data for camera {scope}.";

    private static string CountAnswer(LabelMatch match, IReadOnlyList<CameraSnapshot> cameras)
    {
        var noun = match.Name;
        var perCamera = cameras
            .Select(c => (c.Camera, Count: match.Labels.Sum(l => c.Counts.GetValueOrDefault(l))))
            .ToList();
        var total = perCamera.Sum(c => c.Count);
        var what = match.Labels.Count > 1 ? GroupDetail(match.Labels, cameras) : "";
        if (total == 0) return $"There are no {Noun(noun, 2)} on {CameraList(cameras)}.";
        var be = total == 1 ? "is" : "are";
        if (perCamera.Count == 1) return $"There {be} {total} {Noun(noun, total)} on {perCamera[0].Camera}{what}.";
        var split = string.Join(", ", perCamera.Where(c => c.Count > 0).Select(c => $"{c.Count} on {c.Camera}"));
        return $"There {be} {total} {Noun(noun, total)}{what}: {split}.";
    }

    private static string PresenceAnswer(LabelMatch match, IReadOnlyList<CameraSnapshot> cameras)
    {
        var noun = match.Name;
        var seen = cameras
            .Select(c => (c.Camera, Count: match.Labels.Sum(l => c.Counts.GetValueOrDefault(l))))
            .Where(c => c.Count > 0)
            .Select(c => $"{c.Count} {Noun(noun, c.Count)} on {c.Camera}")
            .ToList();
        return seen.Count == 0
            ? $"No, there are no {Noun(noun, 2)} on {CameraList(cameras)}."
            : $"Yes: {string.Join(", ", seen)}.";
    }

    private static string SeeAnswer(IReadOnlyList<CameraSnapshot> cameras)
    {
        var text = new StringBuilder();
        foreach (var camera in cameras)
        {
            var present = camera.Counts.Where(c => c.Value > 0)
                .OrderByDescending(c => c.Value)
                .ThenBy(c => c.Key, StringComparer.Ordinal)
                .ToList();
            if (text.Length > 0) text.Append(' ');
            text.Append(camera.Camera).Append(": ");
            text.Append(present.Count == 0
                ? "nothing"
                : string.Join(", ", present.Select(c => Labels.CountOf(c.Value, c.Key))));
            text.Append('.');
        }
        return text.ToString();
    }

    /// <summary>" (1 car, 1 bus)" for a group word such as "vehicles".</summary>
    private static string GroupDetail(IReadOnlyList<string> labels, IReadOnlyList<CameraSnapshot> cameras)
    {
        var parts = labels
            .Select(l => (Label: l, Count: cameras.Sum(c => c.Counts.GetValueOrDefault(l))))
            .Where(p => p.Count > 0)
            .Select(p => Labels.CountOf(p.Count, p.Label))
            .ToList();
        return parts.Count == 0 ? "" : $" ({string.Join(", ", parts)})";
    }

    private static string Noun(string name, int count) => count == 1 ? name : Labels.Plural(name);

    private static string CameraList(IReadOnlyList<CameraSnapshot> cameras) =>
        cameras.Count switch
        {
            1 => cameras[0].Camera,
            2 => $"{cameras[0].Camera} or {cameras[1].Camera}",
            _ => $"any of the {cameras.Count} cameras",
        };

    /// <summary>Lower-case words; camera names keep their '-' and '_'.</summary>
    internal static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_') word.Append(char.ToLowerInvariant(c));
            else Flush();
        }
        Flush();
        return words;

        void Flush()
        {
            if (word.Length == 0) return;
            words.Add(word.ToString().Trim('-', '_'));
            word.Clear();
        }
    }

    private static int IndexOf(List<string> words, string[] phrase)
    {
        for (var i = 0; i + phrase.Length <= words.Count; i++)
        {
            var match = true;
            for (var j = 0; j < phrase.Length && match; j++) match = words[i + j] == phrase[j];
            if (match) return i;
        }
        return -1;
    }
}
